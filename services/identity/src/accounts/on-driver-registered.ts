import { DriverRegisteredV1, DriverRegisteredV2, upcastDriverRegisteredV1, type CloudEvent } from '@onboarding/contracts';
import { TransientMessageError, handlerFor, type MessageContext, type MessageHandler } from '@onboarding/messaging';
import { DirectoryRefusal, DirectoryUnavailable, type DirectoryAccount, type DirectoryProvider } from '../directory/directory';
import { AccountLink } from './account-link';
import { identityEvents } from './outgoing-events';

type Registered = CloudEvent<DriverRegisteredV2>;

/**
 * Creates the driver's directory account. The directory call happens outside any transaction and is
 * idempotent: it creates first and, only when the directory answers that the address has an account, looks
 * it up to tell a retried create of ours from someone else's account. The link and the outcome event are then
 * committed together with the inbox record. v1 registrations are upcast to v2 first; while the producer
 * publishes both, the second copy of a registration finds the link and does nothing.
 */
export function onDriverRegistered(directory: DirectoryProvider, versions: readonly number[]): MessageHandler[] {
  const handle = async (event: Registered, context: MessageContext) => {
    const { driverId } = event.data;
    // Linked by an earlier copy of the event (or linked and since deleted): nothing to create.
    if (await context.em.findOne(AccountLink, { driverId })) return;

    let account: DirectoryAccount;
    try {
      account = await createOrFindAccount(directory, event);
    } catch (err) {
      if (err instanceof DirectoryRefusal) return recordFailure(context, event, err.code, err.message);
      if (err instanceof DirectoryUnavailable) throw new TransientMessageError(err.message, err.retryAfterMs);
      throw err;
    }
    // The link, `identity.account.created` and the inbox record in one statement. A concurrent copy (the other
    // major version) that linked the driver first has announced it too: ON CONFLICT DO NOTHING inserts no link
    // and then no event, and the statement records this delivery alone. The link's keys settle it, not a
    // second lookup on every registration.
    const link = new AccountLink(driverId, account.objectId, directory.name, event.data.version);
    await context.commitInOneStatement({
      effects: [
        {
          name: 'linked',
          sql: `insert into "${context.schema}"."account_link" ("driver_id", "object_id", "provider", "driver_version", "created_at", "deleted_at")
            values (?, ?, ?, ?, ?, null) on conflict do nothing returning 1`,
          params: [link.driverId, link.objectId, link.provider, link.driverVersion, link.createdAt],
        },
      ],
      events: [{ event: identityEvents.created(driverId, account.objectId, directory.name), options: context.causedBy(driverId), onlyIf: 'linked' }],
    });
  };
  const exhausted = (event: Registered, context: MessageContext, error: Error) =>
    recordFailure(context, event, 'directory-unavailable', `The directory did not answer after every retry: ${error.message}`);

  const handlers: MessageHandler[] = [];
  if (versions.includes(2)) handlers.push(handlerFor(DriverRegisteredV2, handle, exhausted));
  if (versions.includes(1)) {
    handlers.push(
      handlerFor(
        DriverRegisteredV1,
        (event, context) => handle(upcastDriverRegisteredV1(event), context),
        (event, context, error) => exhausted(upcastDriverRegisteredV1(event), context, error),
      ),
    );
  }
  return handlers;
}

async function createOrFindAccount(directory: DirectoryProvider, event: Registered): Promise<DirectoryAccount> {
  const { driverId, email, firstName, lastName, phone } = event.data;
  try {
    return await directory.createAccount({ driverId, email, givenName: firstName, surname: lastName, phone });
  } catch (err) {
    if (!(err instanceof DirectoryRefusal && err.code === 'account-exists')) throw err;
    // An earlier attempt of this registration (or its other copy) created it: that account is ours.
    const existing = await directory.findByEmail(email);
    if (!existing) throw err;
    if (existing.driverId === driverId) return existing;
    throw new DirectoryRefusal('An account with this email address already exists in the directory', 'account-exists');
  }
}

async function recordFailure(context: MessageContext, event: Registered, code: string, reason: string): Promise<void> {
  const { driverId } = event.data;
  // Unless the other copy linked the driver (and announced the account), one statement: the failure event and
  // the inbox record.
  await context.commitInOneStatement({
    effects: [
      {
        name: 'unlinked',
        sql: `select 1 where not exists (select from "${context.schema}"."account_link" where "driver_id" = ?)`,
        params: [driverId],
      },
    ],
    events: [{ event: identityEvents.creationFailed(driverId, code, reason), options: context.causedBy(driverId), onlyIf: 'unlinked' }],
  });
}

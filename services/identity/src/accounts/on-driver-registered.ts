import { DriverRegisteredV1, DriverRegisteredV2, upcastDriverRegisteredV1, type CloudEvent } from '@onboarding/contracts';
import { TransientMessageError, handlerFor, stageEvent, type MessageContext, type MessageHandler } from '@onboarding/messaging';
import { DirectoryRefusal, DirectoryUnavailable, type DirectoryAccount, type DirectoryProvider } from '../directory/directory';
import { AccountLink } from './account-link';
import { identityEvents } from './outgoing-events';

type Registered = CloudEvent<DriverRegisteredV2>;

/**
 * Creates the driver's directory account. The directory call happens outside any transaction and is
 * idempotent by lookup (a retried create finds the account it made before); the link and the outcome event
 * are then committed together with the inbox record. v1 registrations are upcast to v2 first; while the
 * producer publishes both, the second copy of a registration finds the link and does nothing.
 */
export function onDriverRegistered(directory: DirectoryProvider, versions: readonly number[]): MessageHandler[] {
  const handle = async (event: Registered, context: MessageContext) => {
    const { driverId } = event.data;
    // Linked by an earlier copy of the event (or linked and since deleted): nothing to create.
    if (await context.em.findOne(AccountLink, { driverId })) return;

    let account: DirectoryAccount;
    try {
      account = await findOrCreateAccount(directory, event);
    } catch (err) {
      if (err instanceof DirectoryRefusal) return recordFailure(context, event, err.code, err.message);
      if (err instanceof DirectoryUnavailable) throw new TransientMessageError(err.message, err.retryAfterMs);
      throw err;
    }
    await context.commit(async (em) => {
      // A concurrent copy (the other major version) may have linked it first: then it also announced it.
      if (await em.findOne(AccountLink, { driverId })) return;
      em.persist(new AccountLink(driverId, account.objectId, directory.name, event.data.version));
      stageEvent(em, identityEvents.created(driverId, account.objectId, directory.name), context.causedBy(driverId));
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

async function findOrCreateAccount(directory: DirectoryProvider, event: Registered): Promise<DirectoryAccount> {
  const { driverId, email, firstName, lastName, phone } = event.data;
  const mine = async (): Promise<DirectoryAccount | undefined> => {
    const existing = await directory.findByEmail(email);
    if (!existing) return undefined;
    if (existing.driverId === driverId) return existing;
    throw new DirectoryRefusal('An account with this email address already exists in the directory', 'account-exists');
  };
  const found = await mine();
  if (found) return found;
  try {
    return await directory.createAccount({ driverId, email, givenName: firstName, surname: lastName, phone });
  } catch (err) {
    // Another copy of this registration created it a moment ago: that account is ours.
    if (err instanceof DirectoryRefusal && err.code === 'account-exists') {
      const raced = await mine();
      if (raced) return raced;
    }
    throw err;
  }
}

async function recordFailure(context: MessageContext, event: Registered, code: string, reason: string): Promise<void> {
  await context.commit(async (em) => {
    if (await em.findOne(AccountLink, { driverId: event.data.driverId })) return; // the other copy succeeded
    stageEvent(em, identityEvents.creationFailed(event.data.driverId, code, reason), context.causedBy(event.data.driverId));
  });
}

import {
  DriverRegisteredV1,
  IdentityAccountCreatedV1,
  IdentityAccountCreationFailedV1,
  type CloudEvent,
} from '@onboarding/contracts';
import { TransientMessageError, addToOutbox, handlerFor, type MessageContext } from '@onboarding/messaging';
import {
  DirectoryRefusal,
  DirectoryUnavailable,
  type DirectoryAccount,
  type DirectoryProvider,
} from '../directory/directory';
import { AccountLink } from './account-link';

type Registered = CloudEvent<DriverRegisteredV1>;

/**
 * Creates the driver's directory account. The directory call happens outside any transaction and is
 * idempotent by lookup (a retried create finds the account it made before); the link and the outcome event
 * are then committed together with the inbox record.
 */
export function onDriverRegistered(directory: DirectoryProvider) {
  return handlerFor(
    DriverRegisteredV1,
    async (event, context) => {
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
        em.persist(new AccountLink(driverId, account.objectId, directory.name, event.data.version));
        addToOutbox(
          em,
          IdentityAccountCreatedV1,
          { driverId, objectId: account.objectId, provider: directory.name, createdAt: new Date().toISOString() },
          context.causedBy(driverId),
        );
      });
    },
    (event, context, error) =>
      recordFailure(context, event, 'directory-unavailable', `The directory did not answer after every retry: ${error.message}`),
  );
}

async function findOrCreateAccount(directory: DirectoryProvider, event: Registered): Promise<DirectoryAccount> {
  const { driverId, email, firstName, lastName, phone } = event.data;
  const existing = await directory.findByEmail(email);
  if (existing) {
    if (existing.driverId === driverId) return existing;
    throw new DirectoryRefusal('An account with this email address already exists in the directory', 'account-exists');
  }
  return directory.createAccount({ driverId, email, givenName: firstName, surname: lastName, phone });
}

async function recordFailure(context: MessageContext, event: Registered, code: string, reason: string): Promise<void> {
  await context.commit(async (em) => {
    addToOutbox(
      em,
      IdentityAccountCreationFailedV1,
      { driverId: event.data.driverId, code, reason, failedAt: new Date().toISOString() },
      context.causedBy(event.data.driverId),
    );
  });
}

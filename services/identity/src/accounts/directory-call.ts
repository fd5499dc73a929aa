import { PermanentMessageError, TransientMessageError } from '@onboarding/messaging';
import { DirectoryRefusal, DirectoryUnavailable } from '../directory/directory';

/** Directory failures as the consumer understands them: refusals are final, unavailability is retried. */
export async function directoryCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof DirectoryRefusal) throw new PermanentMessageError(err.message, err.code);
    if (err instanceof DirectoryUnavailable) throw new TransientMessageError(err.message, err.retryAfterMs);
    throw err;
  }
}

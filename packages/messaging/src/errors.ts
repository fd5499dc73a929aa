/**
 * A failure that retrying cannot fix (the directory refused the account, the payload breaks a rule).
 * The consumer parks the message at once instead of retrying it.
 */
export class PermanentMessageError extends Error {
  constructor(
    message: string,
    readonly code = 'permanent-failure',
  ) {
    super(message);
    this.name = 'PermanentMessageError';
  }
}

/** A failure worth retrying later, optionally not before `retryAfterMs` (a 429's Retry-After, an open breaker). */
export class TransientMessageError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'TransientMessageError';
  }
}

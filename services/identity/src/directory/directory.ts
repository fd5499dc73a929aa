/** What the saga needs from a user directory (Azure AD B2C through Microsoft Graph, or the local one). */
export interface DirectoryProvider {
  readonly name: string;
  findByEmail(email: string): Promise<DirectoryAccount | undefined>;
  createAccount(request: NewDirectoryAccount): Promise<DirectoryAccount>;
  /** Replaces the account's profile (full state, so applying the same change twice is harmless). */
  updateAccount(objectId: string, profile: AccountProfile): Promise<void>;
  /** Deletes the account; an account that is already gone counts as deleted. */
  deleteAccount(objectId: string): Promise<void>;
  /**
   * Erasure: deletes the account permanently, so nothing of it can be restored (B2C keeps a deleted user 30 days
   * among the deleted items). An account already gone, or already purged, counts as erased.
   */
  eraseAccount(objectId: string): Promise<void>;
}

export interface AccountProfile {
  givenName: string;
  surname: string;
  email: string;
  phone: string;
}

export interface NewDirectoryAccount extends AccountProfile {
  driverId: string;
}

export interface DirectoryAccount {
  objectId: string;
  email: string;
  /** The driver the account was created for, when the directory recorded it. */
  driverId: string | null;
}

/** The directory refused for good (the address already has an account, the request is invalid). */
export class DirectoryRefusal extends Error {
  constructor(
    message: string,
    readonly code: 'account-exists' | 'not-found' | 'invalid-request',
  ) {
    super(message);
    this.name = 'DirectoryRefusal';
  }
}

/** The directory could not answer now (timeout, 5xx, throttled); worth retrying, not before `retryAfterMs`. */
export class DirectoryUnavailable extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DirectoryUnavailable';
  }
}

export const DRIVER_ROLE = 'DRIVER';

/** What the saga needs from a user directory (Azure AD B2C through Microsoft Graph, or the local one). */
export interface DirectoryProvider {
  readonly name: string;
  findByEmail(email: string): Promise<DirectoryAccount | undefined>;
  createAccount(request: NewDirectoryAccount): Promise<DirectoryAccount>;
}

export interface NewDirectoryAccount {
  driverId: string;
  givenName: string;
  surname: string;
  email: string;
  phone: string;
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
    readonly code: 'account-exists' | 'invalid-request',
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

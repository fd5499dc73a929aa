import { randomUUID } from 'node:crypto';
import { EntitySchema, UniqueConstraintViolationException, type MikroORM } from '@mikro-orm/core';
import {
  DRIVER_ROLE,
  DirectoryRefusal,
  type DirectoryAccount,
  type DirectoryProvider,
  type AccountProfile,
  type NewDirectoryAccount,
} from './directory';

/** A user account in the local directory: the same attributes a B2C local account gets. */
export class LocalDirectoryUser {
  objectId: string = randomUUID();
  email: string;
  displayName: string;
  givenName: string;
  surname: string;
  mobilePhone: string;
  role: string = DRIVER_ROLE;
  driverId: string;
  accountEnabled = true;
  createdAt: Date = new Date();

  constructor(request: NewDirectoryAccount) {
    this.email = request.email.toLowerCase();
    this.givenName = request.givenName;
    this.surname = request.surname;
    this.displayName = `${request.givenName} ${request.surname}`;
    this.mobilePhone = request.phone;
    this.driverId = request.driverId;
  }
}

export const LocalDirectoryUserSchema = new EntitySchema<LocalDirectoryUser>({
  class: LocalDirectoryUser,
  tableName: 'directory_user',
  properties: {
    objectId: { type: 'uuid', primary: true },
    email: { type: 'string', unique: true },
    displayName: { type: 'string' },
    givenName: { type: 'string' },
    surname: { type: 'string' },
    mobilePhone: { type: 'string' },
    role: { type: 'string' },
    driverId: { type: 'uuid' },
    accountEnabled: { type: 'boolean' },
    createdAt: { type: 'Date' },
  },
});

/**
 * A real directory kept in identity's own tables, unique by email: the default provider where no B2C tenant
 * is configured. It is used like a remote one, each call in its own transaction, never the saga's.
 */
export class LocalDirectory implements DirectoryProvider {
  readonly name = 'local';

  constructor(private readonly orm: MikroORM) {}

  async findByEmail(email: string): Promise<DirectoryAccount | undefined> {
    const user = await this.orm.em.fork().findOne(LocalDirectoryUser, { email: email.toLowerCase() });
    return user ? toAccount(user) : undefined;
  }

  async createAccount(request: NewDirectoryAccount): Promise<DirectoryAccount> {
    const em = this.orm.em.fork();
    const user = new LocalDirectoryUser(request);
    try {
      await em.persist(user).flush();
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) {
        throw new DirectoryRefusal('Another object with the same value for property email already exists', 'account-exists');
      }
      throw err;
    }
    return toAccount(user);
  }

  async updateAccount(objectId: string, profile: AccountProfile): Promise<void> {
    const em = this.orm.em.fork();
    const user = await em.findOne(LocalDirectoryUser, { objectId });
    if (!user) throw new DirectoryRefusal(`Resource '${objectId}' does not exist`, 'not-found');
    user.givenName = profile.givenName;
    user.surname = profile.surname;
    user.displayName = `${profile.givenName} ${profile.surname}`;
    user.email = profile.email.toLowerCase();
    user.mobilePhone = profile.phone;
    try {
      await em.flush();
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) {
        throw new DirectoryRefusal('Another object with the same value for property email already exists', 'account-exists');
      }
      throw err;
    }
  }

  async deleteAccount(objectId: string): Promise<void> {
    await this.orm.em.fork().nativeDelete(LocalDirectoryUser, { objectId });
  }

  /** The local directory keeps no deleted items: deleting the row is already permanent. */
  async eraseAccount(objectId: string): Promise<void> {
    await this.deleteAccount(objectId);
  }
}

function toAccount(user: LocalDirectoryUser): DirectoryAccount {
  return { objectId: user.objectId, email: user.email, driverId: user.driverId };
}

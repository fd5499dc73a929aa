import { randomUUID } from 'node:crypto';
import { EntitySchema, type EntityCtor } from '@mikro-orm/core';
import {
  DEFAULT_LANGUAGE,
  type ApiRole,
  type DriverView,
  type Language,
  type RegisterDriverBody,
  type UpdateDriverBody,
} from '@onboarding/contracts';

export type DriverStatus = 'PENDING' | 'ACTIVE' | 'FAILED' | 'DELETED';

/** A driver-level rule was broken; callers turn it into a 409 or a parked message. */
export class DriverRuleViolation extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'DriverRuleViolation';
  }
}

/**
 * The caller's role does not allow the change; callers turn it into a 403. Kept apart from DriverRuleViolation
 * (a 409) because retrying or re-reading the driver cannot make it succeed: only another role can.
 */
export class DriverChangeForbidden extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DriverChangeForbidden';
  }
}

/** Who asks for a change: the roles the gateway verified on the caller's token. */
export interface ChangeRequester {
  readonly roles: readonly ApiRole[];
}

/**
 * The driver aggregate. It is PENDING until the directory account exists, then ACTIVE; or FAILED with a
 * reason. `version` counts every change and travels in every event, so consumers can ignore stale ones.
 */
export class Driver {
  id: string = randomUUID();
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  preferredLanguage: Language;
  status: DriverStatus = 'PENDING';
  b2cObjectId: string | null = null;
  failureReason: string | null = null;
  /** Correlation id of the registration saga, reused by the events the driver service emits on its own (timeout). */
  correlationId: string | null = null;
  version = 1;
  createdAt: Date = new Date();
  updatedAt: Date = new Date();

  private constructor(input: RegisterDriverBody) {
    this.firstName = input.firstName.trim();
    this.lastName = input.lastName.trim();
    this.email = Driver.normaliseEmail(input.email);
    this.phone = input.phone.trim();
    this.preferredLanguage = input.preferredLanguage ?? DEFAULT_LANGUAGE;
  }

  static register(input: RegisterDriverBody, correlationId?: string): Driver {
    const driver = new Driver(input);
    driver.correlationId = correlationId ?? null;
    return driver;
  }

  /** Addresses are compared case-insensitively; one spelling is stored. */
  static normaliseEmail(email: string): string {
    return email.trim().toLowerCase();
  }

  activate(objectId: string): void {
    if (this.status === 'ACTIVE' && this.b2cObjectId === objectId) return;
    if (this.status !== 'PENDING') {
      throw new DriverRuleViolation(`driver ${this.id} is ${this.status} and cannot be activated`, 'not-pending');
    }
    this.status = 'ACTIVE';
    this.b2cObjectId = objectId;
    this.touch();
  }

  /** The registration saga ran out of time: a PENDING driver fails with reason `timeout`. */
  expire(): void {
    this.fail(Driver.TIMEOUT_REASON);
  }

  static readonly TIMEOUT_REASON = 'timeout';

  /**
   * Applies a client's change to an ACTIVE driver; returns the names of the fields that really changed
   * (none: no new version, no event).
   *
   * Only an admin may change the email address: identity makes it the driver's B2C sign-in name, so changing it
   * hands the account to whoever holds the new address. Sending the current address again is not a change and
   * stays allowed, so a client that PATCHes a whole form is not refused for a field it did not touch.
   */
  update(changes: Omit<UpdateDriverBody, 'version'>, requester: ChangeRequester): string[] {
    if (this.status !== 'ACTIVE') {
      throw new DriverRuleViolation(`driver ${this.id} is ${this.status}; only ACTIVE drivers can be updated`, 'not-active');
    }
    const next = {
      firstName: changes.firstName?.trim() ?? this.firstName,
      lastName: changes.lastName?.trim() ?? this.lastName,
      email: changes.email === undefined ? this.email : Driver.normaliseEmail(changes.email),
      phone: changes.phone?.trim() ?? this.phone,
      preferredLanguage: changes.preferredLanguage ?? this.preferredLanguage,
    };
    const changed = (Object.keys(next) as (keyof typeof next)[]).filter((field) => next[field] !== this[field]);
    if (changed.length === 0) return [];
    if (changed.includes('email') && !requester.roles.includes('admin')) {
      throw new DriverChangeForbidden(`only an admin may change a driver's email address (it is the driver's sign-in identity)`);
    }
    Object.assign(this, next);
    this.touch();
    return changed;
  }

  /**
   * Erasure forgets the driver everywhere. A registration still in flight is refused: identity may be creating
   * the directory account at this moment, and an account made after the erasure would keep the address. The
   * saga settles (ACTIVE, or FAILED at the latest after the saga timeout), and then the driver can be erased.
   */
  assertErasable(): void {
    if (this.status === 'PENDING') {
      throw new DriverRuleViolation(`driver ${this.id} is PENDING; erase it once its registration has settled (ACTIVE or FAILED)`, 'pending');
    }
  }

  /** Removes the driver; a PENDING one is deleted too, and a late account for it is then compensated. */
  delete(): void {
    if (this.status === 'DELETED') {
      throw new DriverRuleViolation(`driver ${this.id} is already deleted`, 'already-deleted');
    }
    this.status = 'DELETED';
    this.touch();
  }

  fail(reason: string): void {
    if (this.status !== 'PENDING') {
      throw new DriverRuleViolation(`driver ${this.id} is ${this.status} and cannot fail registration`, 'not-pending');
    }
    this.status = 'FAILED';
    this.failureReason = reason;
    this.touch();
  }

  private touch(): void {
    this.version += 1;
    this.updatedAt = new Date();
  }

  toView(): DriverView {
    return {
      id: this.id,
      firstName: this.firstName,
      lastName: this.lastName,
      email: this.email,
      phone: this.phone,
      preferredLanguage: this.preferredLanguage,
      status: this.status,
      ...(this.b2cObjectId ? { b2cObjectId: this.b2cObjectId } : {}),
      ...(this.failureReason ? { failureReason: this.failureReason } : {}),
      version: this.version,
      createdAt: this.createdAt.toISOString(),
      updatedAt: this.updatedAt.toISOString(),
    };
  }
}

export const DriverSchema = new EntitySchema<Driver>({
  // MikroORM 7 types `class` as constructible, which a private constructor is not. The ORM never calls it
  // (forceEntityConstructor is off: rows hydrate onto the prototype), so drivers are still only made by register().
  class: Driver as unknown as EntityCtor<Driver>,
  tableName: 'driver',
  properties: {
    id: { type: 'uuid', primary: true },
    firstName: { type: 'string' },
    lastName: { type: 'string' },
    email: { type: 'string' },
    phone: { type: 'string' },
    preferredLanguage: { type: 'string' },
    status: { type: 'string' },
    b2cObjectId: { type: 'string', nullable: true },
    failureReason: { type: 'text', nullable: true },
    correlationId: { type: 'string', nullable: true },
    // Domain-managed version; also checked on every UPDATE so concurrent writers cannot overwrite each other.
    version: { type: 'integer', concurrencyCheck: true },
    createdAt: { type: 'Date' },
    updatedAt: { type: 'Date' },
  },
});

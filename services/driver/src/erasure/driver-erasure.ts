import { EntitySchema } from '@mikro-orm/core';
import type { ErasureView } from '@onboarding/contracts';
import { DriverChangeForbidden, type ChangeRequester, type Driver } from '../drivers/driver';

interface Confirmation {
  erasedAt: string;
  removedMessages: number;
}

/** Who asks for an erasure: the roles and the subject the gateway verified on the caller's token. */
export interface ErasureRequester extends ChangeRequester {
  readonly subject: string | null;
}

/**
 * The audit record of one driver's erasure, kept after the driver's personal data is gone: the driver id, who
 * asked (the token subject) and when, and when each service that keeps data about drivers confirmed it erased
 * it. Nothing in it names a person. One per driver: asking again returns the same record.
 */
export class DriverErasure {
  driverId: string;
  requestedBy: string | null;
  requestedAt: Date = new Date();
  /** Every service that must confirm, by name: its confirmation, or null until it arrives. */
  confirmations: Record<string, Confirmation | null>;
  completedAt: Date | null = null;

  private constructor(driverId: string, requestedBy: string | null, services: readonly string[]) {
    this.driverId = driverId;
    this.requestedBy = requestedBy;
    this.confirmations = Object.fromEntries(services.map((service) => [service, null]));
  }

  /**
   * Only an admin may erase: erasure cannot be undone (the directory account is deleted permanently), and it is
   * the data subject's right exercised through the operator, not a dispatcher's day-to-day change.
   */
  static authorise(requester: ErasureRequester): void {
    if (!requester.roles.includes('admin')) throw new DriverChangeForbidden("only an admin may erase a driver's personal data");
  }

  /** Starts the erasure of `driver`, which must have settled (see Driver.assertErasable); `services` must confirm. */
  static request(driver: Driver, requester: ErasureRequester, services: readonly string[]): DriverErasure {
    DriverErasure.authorise(requester);
    driver.assertErasable();
    return new DriverErasure(driver.id, requester.subject, services);
  }

  /** Records a service's confirmation (the first one counts: a redelivered confirmation changes nothing). */
  confirm(service: string, erasedAt: Date, removedMessages: number, now = new Date()): void {
    if (!(service in this.confirmations) || this.confirmations[service]) return;
    // A new object, so the ORM sees the JSON column change.
    this.confirmations = { ...this.confirmations, [service]: { erasedAt: erasedAt.toISOString(), removedMessages } };
    if (this.isComplete()) this.completedAt = now;
  }

  isComplete(): boolean {
    return Object.values(this.confirmations).every((confirmation) => confirmation !== null);
  }

  toView(): ErasureView {
    return {
      driverId: this.driverId,
      status: this.isComplete() ? 'COMPLETE' : 'IN_PROGRESS',
      requestedBy: this.requestedBy,
      requestedAt: this.requestedAt.toISOString(),
      ...(this.completedAt ? { completedAt: this.completedAt.toISOString() } : {}),
      services: Object.entries(this.confirmations).map(([service, confirmation]) => ({
        service,
        erasedAt: confirmation?.erasedAt ?? null,
        ...(confirmation ? { removedMessages: confirmation.removedMessages } : {}),
      })),
    };
  }
}

export const DriverErasureSchema = new EntitySchema<DriverErasure>({
  // The constructor is private (request() makes them); the ORM hydrates rows without calling it.
  class: DriverErasure as unknown as new () => DriverErasure,
  tableName: 'driver_erasure',
  properties: {
    driverId: { type: 'uuid', primary: true },
    requestedBy: { type: 'string', nullable: true },
    requestedAt: { type: 'Date' },
    confirmations: { type: 'json' },
    completedAt: { type: 'Date', nullable: true },
  },
});

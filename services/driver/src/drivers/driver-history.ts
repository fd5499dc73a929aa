import { EntitySchema } from '@mikro-orm/core';
import { Driver, type DriverStatus } from './driver';

/**
 * One step of a driver's saga as the client sees it: what happened, when, why, and who or what did it. A step
 * made over HTTP (register, update, delete) records the token subject the gateway verified as `actor`; a step
 * driven by a message (the saga) records none (null) and names its cause by `messageId` instead, and one the
 * service takes on its own (the timeout) records neither.
 */
export class DriverHistoryEntry {
  id?: string;
  driver: Driver;
  type: string;
  status: DriverStatus;
  detail: string | null;
  messageId: string | null;
  actor: string | null;
  at: Date = new Date();

  constructor(driver: Driver, input: { type: string; detail?: string; messageId?: string; actor?: string | null }) {
    this.driver = driver;
    this.type = input.type;
    this.status = driver.status;
    this.detail = input.detail ?? null;
    this.messageId = input.messageId ?? null;
    this.actor = input.actor ?? null;
  }
}

export const DriverHistoryEntrySchema = new EntitySchema<DriverHistoryEntry>({
  class: DriverHistoryEntry,
  tableName: 'driver_history',
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    driver: { kind: 'm:1', entity: () => Driver },
    type: { type: 'string' },
    status: { type: 'string' },
    detail: { type: 'text', nullable: true },
    messageId: { type: 'string', nullable: true },
    actor: { type: 'string', nullable: true },
    at: { type: 'Date' },
  },
});

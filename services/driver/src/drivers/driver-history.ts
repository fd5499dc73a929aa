import { EntitySchema } from '@mikro-orm/core';
import { Driver, type DriverStatus } from './driver';

/** One step of a driver's saga as the client sees it: what happened, when, why, and which message did it. */
export class DriverHistoryEntry {
  id?: string;
  driver: Driver;
  type: string;
  status: DriverStatus;
  detail: string | null;
  messageId: string | null;
  at: Date = new Date();

  constructor(driver: Driver, input: { type: string; detail?: string; messageId?: string }) {
    this.driver = driver;
    this.type = input.type;
    this.status = driver.status;
    this.detail = input.detail ?? null;
    this.messageId = input.messageId ?? null;
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
    at: { type: 'Date' },
  },
});

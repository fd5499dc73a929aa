import { outboxInboxV1Sql } from './migrations/Migration20261121000000_outbox_inbox';

/**
 * DDL for the messaging tables in a scratch schema (tests, micro-benchmarks): every frozen messaging
 * migration's statements in order. Services never call this; the chassis runs the migrations themselves.
 */
export function outboxAndInboxTablesSql(schema: string): string[] {
  return [...outboxInboxV1Sql(schema)];
}

/** LISTEN/NOTIFY channel the relay waits on; one per schema so services sharing a database never wake each other. */
export function outboxChannel(schema: string): string {
  return `${schema}_outbox`;
}

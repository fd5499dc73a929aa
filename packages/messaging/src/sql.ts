import { outboxInboxV1Sql } from './migrations/Migration20261121000000_outbox_inbox';
import { retentionIndexesSql } from './migrations/Migration20261124010000_retention_indexes';
import { parkedMessagesV1Sql } from './migrations/Migration20261124100000_parked_messages';
import { outboxNotifyDroppedSql } from './migrations/Migration20261125000000_outbox_notify_dropped';

/**
 * DDL for the messaging tables in a scratch schema (tests, micro-benchmarks): every frozen messaging
 * migration's statements in order. Services never call this; the chassis runs the migrations themselves.
 */
export function outboxAndInboxTablesSql(schema: string): string[] {
  return [...outboxInboxV1Sql(schema), ...retentionIndexesSql(schema), ...parkedMessagesV1Sql(schema), ...outboxNotifyDroppedSql(schema)];
}

/**
 * One batch of the outbox purge: published rows older than the retention (the one parameter, in ms), at most `limit`
 * of them. The inner select walks `outbox_published_at_idx`; the delete finds its rows by primary key.
 */
export function outboxPurgeSql(schema: string, limit: number): string {
  return `delete from "${schema}"."outbox" where "seq" = any(array(
    select "seq" from "${schema}"."outbox" where "published_at" < now() - (?::bigint * interval '1 millisecond') limit ${batchLimit(limit)}))`;
}

/**
 * One batch of the inbox purge: processed message ids older than the retention (the one parameter, in ms), at most
 * `limit` of them, found through `inbox_processed_at_idx` and deleted by their physical address (inbox rows are
 * never updated, so it cannot move under the statement).
 */
export function inboxPurgeSql(schema: string, limit: number): string {
  return `delete from "${schema}"."inbox" where ctid = any(array(
    select ctid from "${schema}"."inbox" where "processed_at" < now() - (?::bigint * interval '1 millisecond') limit ${batchLimit(limit)}))`;
}

/** A batch size to inline into SQL: a positive whole number. */
function batchLimit(limit: number): number {
  const whole = Math.floor(limit);
  if (!Number.isSafeInteger(whole) || whole < 1) throw new Error(`a purge batch must be a positive whole number, not ${limit}`);
  return whole;
}

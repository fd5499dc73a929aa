import type { EntityManager } from '@mikro-orm/core';
import type { SagaOutcomeBucket } from '@onboarding/contracts';
import { AppError } from '@onboarding/service-kit';

export const BUCKET_MS: Readonly<Record<string, number>> = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
};
export const MAX_BUCKETS = 500;
const DEFAULT_SPAN_MS = 86_400_000;

/** The event type whose audit copies count each outcome (distinct drivers, so v1/v2 copies count once). */
const OUTCOME_EVENTS = {
  active: 'driver.activated',
  failed: 'driver.registration-failed',
  compensated: 'driver.activation-rejected',
} as const;

export interface OutcomeWindow {
  from: Date;
  to: Date;
  bucket: string;
}

/** The chart's window from the query: defaults, `from` before `to`, at most MAX_BUCKETS bars (a 400 otherwise). */
export function outcomeWindow(query: { from?: string; to?: string; bucket?: string }, now = new Date()): OutcomeWindow {
  const bucket = query.bucket ?? '1h';
  const bucketMs = BUCKET_MS[bucket]!;
  const to = query.to ? new Date(query.to) : now;
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - DEFAULT_SPAN_MS);
  if (!(from.getTime() < to.getTime())) throw AppError.badRequest('from must be before to', 'invalid-window');
  if ((to.getTime() - from.getTime()) / bucketMs > MAX_BUCKETS) {
    throw AppError.badRequest(
      `from..to spans more than ${MAX_BUCKETS} buckets of ${bucket}: choose a wider bucket or a shorter window`,
      'invalid-window',
    );
  }
  return { from, to, bucket };
}

/** Registrations activated, failed and compensated per bucket of the window, every bucket listed (zeros included). */
export async function sagaOutcomes(em: EntityManager, schema: string, window: OutcomeWindow): Promise<SagaOutcomeBucket[]> {
  const bucketMs = BUCKET_MS[window.bucket]!;
  const rows = (await em.getConnection().execute(
    `select floor(extract(epoch from (occurred_at - ?::timestamptz)) * 1000 / ?)::int as bucket, type, count(distinct subject)::int as count
       from "${schema}"."audit_event"
      where type in (?, ?, ?) and occurred_at >= ? and occurred_at < ?
      group by 1, 2`,
    [window.from, bucketMs, OUTCOME_EVENTS.active, OUTCOME_EVENTS.failed, OUTCOME_EVENTS.compensated, window.from, window.to],
  )) as { bucket: number; type: string; count: number }[];
  const count = Math.ceil((window.to.getTime() - window.from.getTime()) / bucketMs);
  const buckets: SagaOutcomeBucket[] = Array.from({ length: count }, (_, index) => ({
    start: new Date(window.from.getTime() + index * bucketMs).toISOString(),
    active: 0,
    failed: 0,
    compensated: 0,
  }));
  for (const row of rows) {
    const bucket = buckets[row.bucket];
    if (!bucket) continue;
    if (row.type === OUTCOME_EVENTS.active) bucket.active += row.count;
    else if (row.type === OUTCOME_EVENTS.failed) bucket.failed += row.count;
    else bucket.compensated += row.count;
  }
  return buckets;
}

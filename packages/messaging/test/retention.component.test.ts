import { type MikroORM } from '@mikro-orm/core';
import pg from 'pg';
import pino from 'pino';
import { eventually, isolatedEnvironment } from '@onboarding/test-infra';
import { RetentionPurge, inboxPurgeSql, outboxPurgeSql } from '../src';
import { ormWithOutbox } from './fixtures/outbox-database';

const SCHEMA = 'retention';
const DAY_MS = 24 * 3600_000;
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let environment: Awaited<ReturnType<typeof isolatedEnvironment>>;
let orm: MikroORM;
let db: pg.Pool;

beforeAll(async () => {
  environment = await isolatedEnvironment('retention');
  orm = await ormWithOutbox(environment.databaseUrl, SCHEMA);
  db = new pg.Pool({ connectionString: environment.databaseUrl, max: 2 });
}, 60_000);

afterAll(async () => {
  await db?.end();
  await orm?.close();
  await environment?.drop();
});

/** `count` published outbox rows, published `ageMs` ago (or unpublished with `published: false`). */
async function writeOutbox(count: number, ageMs: number, published = true): Promise<void> {
  await db.query(
    `insert into "${SCHEMA}"."outbox" (id, type, routing_key, payload, created_at, published_at)
     select gen_random_uuid(), 'test.event', 'test.event.v1', '{}'::jsonb, now() - $1::bigint * interval '1 millisecond',
            case when $3::boolean then now() - $1::bigint * interval '1 millisecond' end
       from generate_series(1, $2::int)`,
    [ageMs, count, published],
  );
}

async function writeInbox(count: number, ageMs: number): Promise<void> {
  await db.query(
    `insert into "${SCHEMA}"."inbox" (consumer, message_id, processed_at)
     select 'test.events', gen_random_uuid()::text, now() - $1::bigint * interval '1 millisecond' from generate_series(1, $2::int)`,
    [ageMs, count],
  );
}

async function count(table: 'inbox' | 'outbox', where = 'true'): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from "${SCHEMA}"."${table}" where ${where}`);
  return rows[0]!.n;
}

/** The plan PostgreSQL chooses for one purge batch (the statement the purge runs, with its retention). */
async function planOf(sql: string, retentionMs: number): Promise<string> {
  await db.query(`analyze "${SCHEMA}"."outbox"; analyze "${SCHEMA}"."inbox"`);
  const plan: unknown = await orm.em.fork().getConnection().execute(`explain (format json) ${sql}`, [retentionMs]);
  return JSON.stringify(plan);
}

describe('retention purge', () => {
  it('forgets processed message ids older than the inbox retention, in batches through its index, and keeps the recent ones', async () => {
    await writeInbox(20_000, 60_000);
    await writeInbox(1_234, 8 * DAY_MS);

    // Fails without inbox_processed_at_idx: a sequential scan of every processed id.
    expect(await planOf(inboxPurgeSql(SCHEMA, 500), 7 * DAY_MS)).toContain('"Index Name":"inbox_processed_at_idx"');

    const purge = new RetentionPurge({ orm, schema: SCHEMA, logger, inboxRetentionMs: 7 * DAY_MS, outboxRetentionMs: DAY_MS, batchSize: 500 });
    expect(await purge.purgeOnce()).toEqual({ inbox: 1_234, outbox: 0, behind: false });
    expect(await count('inbox')).toBe(20_000);
    expect(await count('inbox', `processed_at < now() - interval '7 days'`)).toBe(0);

    // A round deletes at most batchSize × maxBatches rows, and says it is behind.
    await writeInbox(700, 8 * DAY_MS);
    const bounded = new RetentionPurge({
      orm,
      schema: SCHEMA,
      logger,
      inboxRetentionMs: 7 * DAY_MS,
      outboxRetentionMs: DAY_MS,
      batchSize: 100,
      maxBatches: 3,
    });
    expect(await bounded.purgeOnce()).toEqual({ inbox: 300, outbox: 0, behind: true });
    await db.query(`truncate "${SCHEMA}"."inbox"`);
  }, 60_000);

  it('deletes published outbox rows through an index, never unpublished ones, and keeps the table bounded under a sustained write rate', async () => {
    await writeOutbox(20_000, 0);
    await writeOutbox(500, 2 * DAY_MS);
    await writeOutbox(50, 2 * DAY_MS, false); // unpublished, however old: still to be published

    // Fails without outbox_published_at_idx: a sequential scan of the whole outbox.
    expect(await planOf(outboxPurgeSql(SCHEMA, 500), DAY_MS)).toContain('"Index Name":"outbox_published_at_idx"');
    await db.query(`delete from "${SCHEMA}"."outbox" where published_at > now() - interval '1 hour'`);

    // Published rows arrive at 2,000 a second for 6 s (12,000 in all) and expire after 1 s.
    const RETENTION_MS = 1_000;
    const RATE_PER_TICK = 100;
    const TICK_MS = 50;
    const purge = new RetentionPurge({
      orm,
      schema: SCHEMA,
      logger,
      inboxRetentionMs: 7 * DAY_MS,
      outboxRetentionMs: RETENTION_MS,
      intervalMs: 100,
      batchSize: 500,
      maxBatches: 4,
    });
    purge.start();
    let written = 0;
    let largest = 0;
    try {
      const end = Date.now() + 6_000;
      for (let tick = 0; Date.now() < end && tick < 1_000; tick += 1) {
        const started = Date.now();
        await writeOutbox(RATE_PER_TICK, 0);
        written += RATE_PER_TICK;
        if (tick % 5 === 0) largest = Math.max(largest, await count('outbox', 'published_at is not null'));
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, TICK_MS - (Date.now() - started))));
      }
      // Whatever the rate reached on this machine, the table holds about one retention's worth of it, not everything.
      const rate = written / 6; // rows per second
      console.log(`outbox purge under load: ${written} published rows written in 6 s, at most ${largest} in the table`);
      expect(written).toBeGreaterThan(2_000);
      expect(largest).toBeLessThan(Math.min(written * 0.6, rate * (RETENTION_MS / 1000 + 1.5)));
      await eventually(async () => (await count('outbox', 'published_at is not null')) === 0, {
        timeoutMs: 10_000,
        description: 'every published row purged once the writes stopped',
      });
      expect(await count('outbox', 'published_at is null')).toBe(50);
    } finally {
      await purge.stop();
    }
  }, 60_000);
});

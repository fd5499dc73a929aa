import type { MikroORM, QueryResult } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { inboxPurgeSql, outboxPurgeSql } from './sql';

export interface RetentionPurgeOptions {
  orm: MikroORM;
  schema: string;
  logger: Logger;
  /** Processed message ids older than this are forgotten (see INBOX_RETENTION_MS). */
  inboxRetentionMs: number;
  /** Published outbox rows older than this are deleted; unpublished ones never are. */
  outboxRetentionMs: number;
  /** Time between two rounds (default a minute). */
  intervalMs?: number;
  /** Rows one statement deletes at most (default 5,000): short statements, short locks. */
  batchSize?: number;
  /** Statements per table and round at most (default 20), so one round ends however far behind it is. */
  maxBatches?: number;
}

/** Rows one round deleted, per table. */
export interface PurgedRows {
  inbox: number;
  outbox: number;
}

/**
 * Keeps the inbox and the outbox bounded: every interval, deletes the processed message ids and the published events
 * older than their retention, in batches through the retention indexes. A round that hits `maxBatches` (a backlog,
 * or a sustained rate above batchSize × maxBatches per interval) starts the next one at once rather than after the
 * interval, so the purge keeps up with what is written. Any number of instances can run it: deleting a row another
 * one deleted first deletes nothing.
 */
export class RetentionPurge {
  private running = false;
  /** Set by stop(): a round under way ends after its current statement. */
  private stopping = false;
  private timer?: NodeJS.Timeout;
  private round?: Promise<void>;
  private readonly batchSize: number;
  private readonly maxBatches: number;

  constructor(private readonly options: RetentionPurgeOptions) {
    this.batchSize = options.batchSize ?? 5_000;
    this.maxBatches = Math.max(1, options.maxBatches ?? 20);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(this.options.intervalMs ?? 60_000);
  }

  /** Stops scheduling; waits for a round under way, at most `waitMs` (a statement on a dead connection may hang). */
  async stop(waitMs = 2_000): Promise<void> {
    this.running = false;
    this.stopping = true;
    clearTimeout(this.timer);
    if (!this.round) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.round, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }

  /** One round over both tables. */
  async purgeOnce(): Promise<PurgedRows & { behind: boolean }> {
    const inbox = await this.purgeTable(inboxPurgeSql(this.options.schema, this.batchSize), this.options.inboxRetentionMs);
    const outbox = await this.purgeTable(outboxPurgeSql(this.options.schema, this.batchSize), this.options.outboxRetentionMs);
    return { inbox: inbox.deleted, outbox: outbox.deleted, behind: inbox.behind || outbox.behind };
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.round = this.purgeOnce().then(
        (purged) => {
          if (purged.inbox + purged.outbox > 0)
            this.options.logger.info({ inbox: purged.inbox, outbox: purged.outbox }, 'retention purge deleted expired rows');
          this.round = undefined;
          this.schedule(purged.behind ? 0 : (this.options.intervalMs ?? 60_000));
        },
        (err: Error) => {
          // The database away: the rows wait for the next round, which has nothing more to do than this one had.
          this.options.logger.warn({ err: err.message }, 'retention purge failed; trying again at the next interval');
          this.round = undefined;
          this.schedule(this.options.intervalMs ?? 60_000);
        },
      );
    }, delayMs);
    this.timer.unref();
  }

  private async purgeTable(sql: string, retentionMs: number): Promise<{ deleted: number; behind: boolean }> {
    let deleted = 0;
    for (let batch = 0; batch < this.maxBatches; batch += 1) {
      if (this.stopping) return { deleted, behind: false };
      // MikroORM core's Connection leaves execute()'s result untyped; with method 'run' it is a QueryResult.
      const result = (await this.options.orm.em.fork().getConnection().execute(sql, [retentionMs], 'run')) as QueryResult;
      deleted += result.affectedRows;
      if (result.affectedRows < this.batchSize) return { deleted, behind: false };
    }
    return { deleted, behind: true };
  }
}

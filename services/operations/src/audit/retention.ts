import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from 'pino';
import type { BackgroundWorker } from '@onboarding/service-kit';

export interface RetentionOptions {
  retentionDays: number;
  /** How long the record of an operator's action on parked messages is kept (far longer: it says who did what). */
  operatorActionRetentionDays: number;
  intervalMs: number;
  batchSize: number;
}

/** Batches per purge run at most, so one run is bounded even after a long pause; the next run goes on. */
const MAX_BATCHES_PER_RUN = 1_000;

/**
 * Deletes audit rows received longer ago than the retention (and operator actions older than theirs), in batches (each its own short statement, through
 * the `received_at` index), every interval. Several instances may purge at once: they delete the same rows at
 * worst, which costs nothing.
 */
export class AuditRetention implements BackgroundWorker {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly orm: MikroORM,
    private readonly schema: string,
    private readonly options: RetentionOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.running = this.purgeLogged();
    this.timer = setInterval(() => {
      this.running ??= this.purgeLogged();
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    // A run waits on the database; one that stopped answering must not hold the stop (the next start runs again).
    if (this.running) await Promise.race([this.running, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
  }

  /** One purge run over the audit rows and the operator actions; returns the number of rows deleted. */
  async purge(now = new Date()): Promise<number> {
    const audit = await this.purgeTable('audit_event', 'event_id', 'received_at', this.options.retentionDays, now);
    const actions = await this.purgeTable('operator_action', 'id', 'at', this.options.operatorActionRetentionDays, now);
    return audit + actions;
  }

  /** Deletes rows older than the retention in batches, through the time column's index. */
  private async purgeTable(table: string, key: string, time: string, retentionDays: number, now: Date): Promise<number> {
    const cutoff = new Date(now.getTime() - retentionDays * 86_400_000);
    const connection = this.orm.em.fork().getConnection();
    let deleted = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_RUN && !this.stopped; batch += 1) {
      const rows = (await connection.execute(
        `delete from "${this.schema}"."${table}" where "${key}" in (
           select "${key}" from "${this.schema}"."${table}" where "${time}" < ? order by "${time}" limit ?
         ) returning "${key}"`,
        [cutoff, this.options.batchSize],
      )) as unknown[];
      deleted += rows.length;
      if (rows.length < this.options.batchSize) break;
    }
    return deleted;
  }

  private async purgeLogged(): Promise<void> {
    try {
      const deleted = await this.purge();
      if (deleted > 0) this.logger.info({ deleted }, 'expired audit rows purged');
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'audit purge failed; the next run tries again');
    } finally {
      this.running = undefined;
    }
  }
}

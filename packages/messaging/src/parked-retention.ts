import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { settlesWithin } from './pg-listener';

export interface ParkedRetentionOptions {
  schema: string;
  /** Whole rows are deleted this long after they were parked (`PARKED_RETENTION`). */
  retentionMs: number;
  /** Personal data is nulled this long after parking (`PARKED_PERSONAL_DATA_RETENTION`). */
  personalDataRetentionMs: number;
  /** Time between sweeps (default an hour). */
  intervalMs?: number;
  /** Rows per statement (default 500), so a sweep never holds many row locks or a long transaction. */
  batchSize?: number;
  /** Statements per kind and sweep (default 100): a huge backlog is worked off over several sweeps. */
  maxBatches?: number;
  logger: Logger;
}

/**
 * Keeps the parked-message table bounded: personal data nulled after its retention, rows deleted after theirs.
 * Batched statements on the `parked_at` indexes; several replicas may sweep at once (SKIP LOCKED), and a sweep
 * that fails (database away) is simply tried again at the next interval.
 */
export class ParkedRetention {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly orm: MikroORM,
    private readonly options: ParkedRetentionOptions,
  ) {}

  start(): void {
    const sweep = () => {
      this.running ??= this.sweep()
        .catch((err: Error) => this.options.logger.warn({ err: err.message }, 'parked-message retention sweep failed; will try again'))
        .finally(() => {
          this.running = undefined;
        });
    };
    sweep();
    this.timer = setInterval(sweep, this.options.intervalMs ?? 3_600_000);
    this.timer.unref();
  }

  /** Stops sweeping; waits at most `waitMs` for a sweep under way (one waiting on an unreachable database never ends). */
  async stop(waitMs = 2_000): Promise<void> {
    clearInterval(this.timer);
    if (this.running) await settlesWithin(this.running, waitMs);
  }

  /** One sweep: returns how many rows lost their personal data and how many were deleted. */
  async sweep(now = new Date()): Promise<{ scrubbed: number; deleted: number }> {
    const table = `"${this.options.schema}"."parked_message"`;
    const batch = Math.max(1, Math.floor(this.options.batchSize ?? 500));
    const run = async (sql: string, before: Date): Promise<number> => {
      let total = 0;
      for (let i = 0; i < (this.options.maxBatches ?? 100); i += 1) {
        const rows = (await this.orm.em.fork().getConnection().execute(sql, [before])) as unknown[];
        total += rows.length;
        if (rows.length < batch) break;
      }
      return total;
    };
    const deleted = await run(
      `delete from ${table} where "id" in (
         select "id" from ${table} where "parked_at" < ? order by "parked_at" limit ${batch} for update skip locked
       ) returning "id"`,
      new Date(now.getTime() - this.options.retentionMs),
    );
    const scrubbed = await run(
      `update ${table} set "personal_data" = null where "id" in (
         select "id" from ${table} where "personal_data" is not null and "parked_at" < ? order by "parked_at" limit ${batch} for update skip locked
       ) returning "id"`,
      new Date(now.getTime() - this.options.personalDataRetentionMs),
    );
    if (deleted + scrubbed > 0) this.options.logger.info({ deleted, scrubbed }, 'parked-message retention applied');
    return { scrubbed, deleted };
  }
}

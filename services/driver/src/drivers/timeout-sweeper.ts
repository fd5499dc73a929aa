import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from 'pino';
import type { SagaMetrics } from './saga-metrics';
import { expireOverdueRegistrations } from './driver-lifecycle';

/** Periodically fails registrations that stayed PENDING past the saga deadline. */
export class SagaTimeoutSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly orm: MikroORM,
    private readonly options: { deadlineMs: number; intervalMs: number; logger: Logger; saga?: Pick<SagaMetrics, 'sagaOutcome'> },
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep().finally(() => {
        this.running = undefined;
      });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async sweep(): Promise<number> {
    let total = 0;
    try {
      for (let batch = 0; batch < 100; batch += 1) {
        const expired = await expireOverdueRegistrations(this.orm.em.fork(), this.options.deadlineMs);
        total += expired;
        for (let i = 0; i < expired; i += 1) this.options.saga?.sagaOutcome('failed', 'timeout');
        if (expired < 100) break;
      }
      if (total > 0) this.options.logger.warn({ expired: total }, 'registrations timed out');
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'timeout sweep failed; will try again');
    }
    return total;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

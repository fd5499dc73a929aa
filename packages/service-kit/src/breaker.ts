import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** A call taking longer counts as a failure (and is abandoned). */
  timeoutMs?: number;
  /** Failure percentage in the rolling window that opens the breaker. */
  errorThresholdPercentage?: number;
  /** How long the breaker stays open before letting one trial call through. */
  resetTimeoutMs?: number;
  /** Calls needed in the window before the percentage counts. */
  volumeThreshold?: number;
  /** Errors that say nothing about the remote side's health (a 4xx refusal) and must not open the breaker. */
  isHealthyFailure?: (err: unknown) => boolean;
}

/** Raised instead of calling while the breaker is open: retry after `retryAfterMs`, do not fail for good. */
export class BreakerOpenError extends Error {
  constructor(
    readonly breaker: string,
    readonly retryAfterMs: number,
  ) {
    super(`circuit breaker ${breaker} is open; not calling it for now`);
    this.name = 'BreakerOpenError';
  }
}

/** An opossum circuit breaker around one remote dependency (Microsoft Graph, an SMTP relay, an upstream). */
export class RemoteCallBreaker {
  private readonly breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  private readonly resetTimeoutMs: number;

  constructor(
    readonly name: string,
    logger: Logger,
    options: BreakerOptions = {},
  ) {
    this.resetTimeoutMs = options.resetTimeoutMs ?? 10_000;
    this.breaker = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
      name,
      timeout: options.timeoutMs ?? 10_000,
      errorThresholdPercentage: options.errorThresholdPercentage ?? 50,
      resetTimeout: this.resetTimeoutMs,
      volumeThreshold: options.volumeThreshold ?? 5,
      rollingCountTimeout: 10_000,
      errorFilter: options.isHealthyFailure ?? (() => false),
    });
    this.breaker.on('open', () => logger.warn({ breaker: name }, 'circuit breaker opened'));
    this.breaker.on('halfOpen', () => logger.info({ breaker: name }, 'circuit breaker half-open: trying one call'));
    this.breaker.on('close', () => logger.info({ breaker: name }, 'circuit breaker closed'));
  }

  get state(): BreakerState {
    if (this.breaker.opened) return 'open';
    if (this.breaker.halfOpen) return 'half-open';
    return 'closed';
  }

  async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return (await this.breaker.fire(work)) as T;
    } catch (err) {
      if ((err as { code?: string }).code === 'EOPENBREAKER') throw new BreakerOpenError(this.name, this.resetTimeoutMs);
      if ((err as { code?: string }).code === 'ETIMEDOUT') {
        throw Object.assign(new Error(`${this.name} did not answer in time`), { code: 'ETIMEDOUT' });
      }
      throw err;
    }
  }

  shutdown(): void {
    this.breaker.shutdown();
  }
}

import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';

export type UpstreamBreakerState = 'closed' | 'open' | 'half-open';

/**
 * A circuit breaker around one upstream. The proxy streams the call itself, so the breaker is fed the
 * outcome of each proxied request after the fact (a 5xx or a connection failure counts against the
 * upstream) and consulted before the next one: while open, the gateway answers 503 without calling.
 */
export class UpstreamBreaker {
  private readonly breaker: CircuitBreaker<[Promise<void>], void>;

  constructor(
    readonly name: string,
    logger: Logger,
    readonly resetTimeoutMs: number,
  ) {
    this.breaker = new CircuitBreaker((outcome: Promise<void>) => outcome, {
      name,
      timeout: false,
      resetTimeout: resetTimeoutMs,
      errorThresholdPercentage: 50,
      volumeThreshold: 5,
      rollingCountTimeout: 10_000,
    });
    this.breaker.on('open', () => logger.warn({ upstream: name }, 'upstream circuit breaker opened'));
    this.breaker.on('close', () => logger.info({ upstream: name }, 'upstream circuit breaker closed'));
  }

  get state(): UpstreamBreakerState {
    if (this.breaker.opened) return 'open';
    if (this.breaker.halfOpen) return 'half-open';
    return 'closed';
  }

  /** False while open: do not call the upstream. Otherwise returns a callback that records the outcome. */
  admit(): ((failed: boolean) => void) | false {
    // Half-open lets one trial call through; opossum refuses the others without ever looking at their outcome.
    if (this.breaker.opened || (this.breaker.halfOpen && !this.breaker.pendingClose)) return false;
    let settle: (failed: boolean) => void = () => undefined;
    const outcome = new Promise<void>((resolve, reject) => {
      settle = (failed) => (failed ? reject(new Error(`${this.name} failed`)) : resolve());
    });
    // Handled here too: an outcome the breaker did not take would otherwise be an unhandled rejection, which
    // ends the process (it did, in a chaos run: a request admitted while a half-open trial was in flight).
    outcome.catch(() => undefined);
    this.breaker.fire(outcome).catch(() => undefined);
    return settle;
  }

  shutdown(): void {
    this.breaker.shutdown();
  }
}

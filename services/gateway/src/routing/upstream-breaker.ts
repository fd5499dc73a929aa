import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';

export type UpstreamBreakerState = 'closed' | 'open' | 'half-open';

/**
 * Whether the gateway's answer says the upstream itself is failing: unreachable (the gateway's own 502), too slow
 * (its 504), or saying so itself (502, 503, 504: down, overloaded, its database gone). Any 4xx, and a 500, is the
 * upstream answering about one request: input it refused (or, for a 500, a request it could not handle), which
 * says nothing about the next caller. Counting those would let one client's crafted requests open the breaker
 * for everyone.
 */
export function countsAgainstUpstream(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}

/**
 * A circuit breaker around one upstream. The proxy streams the call itself, so the breaker is fed the
 * outcome of each proxied request after the fact and consulted before the next one: while open, and while
 * the one trial call of the half-open state is under way, the gateway answers 503 without calling.
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
    this.breaker.on('halfOpen', () => logger.info({ upstream: name }, 'upstream circuit breaker half-open: trying one call'));
    this.breaker.on('close', () => logger.info({ upstream: name }, 'upstream circuit breaker closed'));
  }

  get state(): UpstreamBreakerState {
    if (this.breaker.opened) return 'open';
    if (this.breaker.halfOpen) return 'half-open';
    return 'closed';
  }

  /**
   * False when the upstream must not be called: the breaker is open, or half-open with its trial call under way
   * (opossum would refuse to count a second call, which would then go out uncounted). Otherwise a callback that
   * records the outcome; only its first call counts, so settling twice is harmless.
   */
  admit(): ((failed: boolean) => void) | false {
    if (this.breaker.opened || (this.breaker.halfOpen && !this.breaker.pendingClose)) return false;
    let settle: (failed: boolean) => void = () => undefined;
    const outcome = new Promise<void>((resolve, reject) => {
      settle = (failed) => (failed ? reject(new Error(`${this.name} failed`)) : resolve());
    });
    // opossum reads the outcome; the extra handler keeps a failure from ever surfacing as an unhandled rejection,
    // which the chassis treats as fatal.
    outcome.catch(() => undefined);
    this.breaker.fire(outcome).catch(() => undefined);
    let settled = false;
    return (failed) => {
      if (settled) return;
      settled = true;
      settle(failed);
    };
  }

  shutdown(): void {
    this.breaker.shutdown();
  }
}

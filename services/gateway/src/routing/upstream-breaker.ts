import type { Logger } from 'pino';

export type UpstreamBreakerState = 'closed' | 'open' | 'half-open';

/**
 * Whether the gateway's answer says the upstream itself is failing: unreachable (the gateway's own 502), too slow
 * (its 504), or saying so itself (502, 503, 504: down, overloaded). Any 4xx, and a 500, is the upstream answering
 * about one request: input it refused (or, for a 500, a request it could not handle), which says nothing about
 * the next caller. Counting those would let one client's crafted requests open the breaker for everyone.
 *
 * A 503 that carries `Retry-After` is not counted either: the upstream answered at once and said when to come back
 * (a service whose database is away answers so, `database-unavailable`, `Retry-After: 1`). It sheds the load itself,
 * so the breaker would protect nothing, and an open breaker would go on refusing for its whole reset time after the
 * upstream recovered (5.9 s after PostgreSQL returned, measured) and tell clients to wait that long. The client gets
 * the upstream's own answer and its `Retry-After`.
 */
export function countsAgainstUpstream(status: number, retryAfter: boolean): boolean {
  if (status === 503 && retryAfter) return false;
  return status === 502 || status === 503 || status === 504;
}

/** The rolling window the failure percentage is taken over: ten one-second buckets, as opossum's defaults were. */
const WINDOW_BUCKETS = 10;
const BUCKET_MS = 1_000;
/** Failure percentage in the window above which the breaker opens. */
const ERROR_THRESHOLD_PERCENTAGE = 50;
/** Calls the window must hold before the percentage counts. */
const VOLUME_THRESHOLD = 5;

/**
 * A circuit breaker around one upstream. The proxy streams the call itself, so the breaker is fed the
 * outcome of each proxied request after the fact and consulted before the next one: while open, and while
 * the one trial call of the half-open state is under way, the gateway answers 503 without calling.
 *
 * It keeps opossum's rules (the same thresholds, rolling window, single half-open trial, any success while half-open
 * closing it, any failure reopening it) but is counted in place: opossum wrapped every call in a promise of its own
 * plus the gateway's outcome promise and settle closure, emitted events per call and summed its window with
 * latency percentiles on every failure. Here a call is `admit()` then one `settle()`: three typed-array slots and
 * no allocation while closed. The caller makes sure an admitted call is settled once (see upstreams.ts).
 */
export class UpstreamBreaker {
  private current: UpstreamBreakerState = 'closed';
  /** Half-open and its one trial call not yet admitted (opossum's `pendingClose`). */
  private trialAvailable = false;
  private resetTimer?: NodeJS.Timeout;
  private readonly fires = new Uint32Array(WINDOW_BUCKETS);
  private readonly failures = new Uint32Array(WINDOW_BUCKETS);
  private bucket = 0;
  private bucketStartedAt: number;

  constructor(
    readonly name: string,
    private readonly logger: Logger,
    readonly resetTimeoutMs: number,
    /** The clock the window is kept by; a test may pass its own. */
    private readonly now: () => number = Date.now,
  ) {
    this.bucketStartedAt = now();
  }

  get state(): UpstreamBreakerState {
    return this.current;
  }

  /**
   * False when the upstream must not be called: the breaker is open, or half-open with its trial call under way
   * (a second call would go out while the outcome that decides the state is still unknown). True admits the call,
   * which the caller must then settle exactly once.
   */
  admit(): boolean {
    if (this.current === 'open' || (this.current === 'half-open' && !this.trialAvailable)) return false;
    this.trialAvailable = false;
    this.fires[this.rotate()]! += 1;
    return true;
  }

  /** The outcome of one admitted call: `failed` when it says the upstream is failing (countsAgainstUpstream). */
  settle(failed: boolean): void {
    const bucket = this.rotate();
    if (!failed) {
      if (this.current === 'half-open') this.close();
      return;
    }
    this.failures[bucket]! += 1;
    if (this.current === 'half-open') {
      this.open();
      return;
    }
    let fires = 0;
    let failures = 0;
    for (let index = 0; index < WINDOW_BUCKETS; index += 1) {
      fires += this.fires[index]!;
      failures += this.failures[index]!;
    }
    if (fires >= VOLUME_THRESHOLD && (failures / fires) * 100 > ERROR_THRESHOLD_PERCENTAGE) this.open();
  }

  /**
   * The upstream's `/readyz` turned ready again (see UpstreamWatch): an open breaker closes at once rather than at the
   * end of its reset time, so the routes recover within one probe interval of the upstream. Only on that turn, never
   * because an upstream says ready while its calls fail (hung handlers behind a live `/readyz`): those keep the reset
   * time. Closing does not clear the rolling window, so if the upstream still fails, its first failure reopens it.
   */
  upstreamReady(): void {
    if (this.current !== 'open') return;
    this.logger.info({ upstream: this.name }, 'upstream ready again: closing its circuit breaker');
    this.close();
  }

  shutdown(): void {
    clearTimeout(this.resetTimer);
    this.resetTimer = undefined;
  }

  private open(): void {
    if (this.current === 'open') return;
    this.current = 'open';
    this.trialAvailable = false;
    this.logger.warn({ upstream: this.name }, 'upstream circuit breaker opened');
    clearTimeout(this.resetTimer);
    this.resetTimer = setTimeout(() => this.halfOpen(), this.resetTimeoutMs);
    // Like opossum's: a pending reset never keeps the process alive.
    this.resetTimer.unref();
  }

  private halfOpen(): void {
    this.resetTimer = undefined;
    this.current = 'half-open';
    this.trialAvailable = true;
    this.logger.info({ upstream: this.name }, 'upstream circuit breaker half-open: trying one call');
  }

  private close(): void {
    if (this.current === 'closed') return;
    clearTimeout(this.resetTimer);
    this.resetTimer = undefined;
    this.current = 'closed';
    this.trialAvailable = false;
    this.logger.info({ upstream: this.name }, 'upstream circuit breaker closed');
  }

  /** Moves the window on to the bucket of now, emptying the buckets it passes; returns the current bucket. */
  private rotate(): number {
    const elapsed = Math.floor((this.now() - this.bucketStartedAt) / BUCKET_MS);
    if (elapsed > 0) {
      for (let step = 0; step < Math.min(elapsed, WINDOW_BUCKETS); step += 1) {
        this.bucket = (this.bucket + 1) % WINDOW_BUCKETS;
        this.fires[this.bucket] = 0;
        this.failures[this.bucket] = 0;
      }
      this.bucketStartedAt += elapsed * BUCKET_MS;
    }
    return this.bucket;
  }
}

import type { Logger } from 'pino';
import type { BackgroundWorker, ReadinessCheck } from '@onboarding/service-kit';

export interface WatchedUpstream {
  name: string;
  url: string;
}

/**
 * Keeps the last known readiness of each upstream the gateway routes to, polling its `/readyz` in the
 * background. The states are shown in the gateway's own readiness details and never decide it: the gateway
 * can serve whatever it routes to the upstreams that are up (the routes of a failing one fail fast: 502 from a
 * refused connection, then 503 from its open breaker without calling it), so one hung or stopped service must not take every gateway replica out of the load balancer. Polling rather
 * than asking on each probe keeps `/readyz` instant and its cost independent of how many probes arrive.
 */
export class UpstreamWatch implements BackgroundWorker {
  private readonly up = new Map<string, boolean>();
  private timer?: NodeJS.Timeout;
  private round?: Promise<void>;

  constructor(
    private readonly upstreams: readonly WatchedUpstream[],
    private readonly intervalMs: number,
    private readonly logger: Logger,
    /** Called when an upstream's `/readyz` turns ready after having been seen not ready. */
    private readonly onReadyAgain: (name: string) => void = () => undefined,
  ) {}

  start(): void {
    this.round = this.probeAll();
    this.timer = setInterval(() => {
      // A round lasts at most the probe timeout; a slow one is not stacked on.
      this.round ??= this.probeAll();
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.round;
  }

  /** One observed dependency per upstream: up when its last `/readyz` answered 200 (down until the first one did). */
  observed(): Record<string, ReadinessCheck> {
    return Object.fromEntries(this.upstreams.map(({ name }) => [name, () => this.up.get(name) === true]));
  }

  private async probeAll(): Promise<void> {
    await Promise.all(this.upstreams.map((upstream) => this.probe(upstream)));
    this.round = undefined;
  }

  private async probe({ name, url }: WatchedUpstream): Promise<void> {
    let ready = false;
    try {
      const response = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(Math.min(this.intervalMs, 2_000)) });
      await response.body?.cancel();
      ready = response.ok;
    } catch {
      // refused, reset or timed out: down
    }
    const before = this.up.get(name);
    this.up.set(name, ready);
    if (before !== undefined && before !== ready) {
      if (ready) {
        this.logger.info({ upstream: name }, 'upstream ready again');
        this.onReadyAgain(name);
      } else this.logger.warn({ upstream: name }, 'upstream not ready; its routes fail fast while the others are served');
    }
  }
}

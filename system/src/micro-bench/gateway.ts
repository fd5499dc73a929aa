import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { BENCHMARK_SERVICE_ENV, LocalPlatform } from '../local-platform/local-platform';
import { median, percentile, round } from '../bench/measure';

export interface GatewayBenchOptions {
  /** Clients in the closed loop, each sending its next request as soon as the previous one answered. */
  concurrency: number;
  /** Measured time per side, split in slices alternating direct → gateway → direct → … */
  durationMs: number;
  /** Unmeasured time per side before the slices. */
  warmupMs: number;
  log: (line: string) => void;
  signal?: AbortSignal;
}

export interface GatewayReport {
  /** Median of the side's slices: one slice hit by a burst elsewhere on the machine does not set the figure. */
  gatewayPerSecond: number;
  directPerSecond: number;
  gatewayRatio: number;
  gatewayP50Ms: number;
  gatewayP99Ms: number;
  directP50Ms: number;
  directP99Ms: number;
  /** Each measured slice, in the order run, for a look at the noise. */
  gatewaySlicesPerSecond: number[];
  directSlicesPerSecond: number[];
  gatewayRequests: number;
  directRequests: number;
  /** Answers other than 200, and failed or timed-out requests. */
  gatewayErrors: number;
  directErrors: number;
  concurrency: number;
  durationMs: number;
}

interface Target {
  name: 'gateway' | 'direct';
  url: URL;
  agent: Agent;
  headers: () => Record<string, string>;
}

interface SliceResult {
  latenciesMs: number[];
  errors: number;
  elapsedMs: number;
}

const REQUEST_TIMEOUT_MS = 10_000;
const SLICES_PER_SIDE = 4;
/** Upper bound on requests per client per slice, whatever the duration. */
const MAX_REQUESTS_PER_CLIENT = 1_000_000;

/** One GET on a keep-alive connection; resolves with the status (0 when it failed). */
function get(target: Target): Promise<number> {
  return new Promise((resolve) => {
    const outgoing = request(
      {
        host: target.url.hostname,
        port: target.url.port,
        path: `${target.url.pathname}${target.url.search}`,
        method: 'GET',
        agent: target.agent,
        headers: target.headers(),
        timeout: REQUEST_TIMEOUT_MS,
      },
      (response) => {
        response.on('error', () => resolve(0));
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.resume();
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('timed out')));
    outgoing.on('error', () => resolve(0));
    outgoing.end();
  });
}

async function closedLoop(target: Target, concurrency: number, durationMs: number, signal?: AbortSignal): Promise<SliceResult> {
  const latenciesMs: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = 0; i < MAX_REQUESTS_PER_CLIENT && performance.now() < deadline && !signal?.aborted; i += 1) {
        const sent = performance.now();
        const status = await get(target);
        if (status === 200) latenciesMs.push(performance.now() - sent);
        else errors += 1;
      }
    }),
  );
  return { latenciesMs, errors, elapsedMs: performance.now() - started };
}

/**
 * The gateway against a direct call: the whole platform as processes, one driver registered up front, then
 * the same read (GET /v1/drivers/:id) through the gateway (JWT check, role, breaker, proxy hop) and straight
 * to the driver service with the headers the gateway would have forwarded. Closed loop of C clients on
 * keep-alive connections, in alternating slices so machine noise hits both.
 */
export async function runGatewayBench(options: GatewayBenchOptions): Promise<GatewayReport> {
  const platform = new LocalPlatform();
  const agents: Agent[] = [];
  try {
    options.log('gateway: starting the platform (fresh database and vhost)…');
    await platform.start('micro-gateway', {
      env: { ...BENCHMARK_SERVICE_ENV },
    });
    const registered = await platform.register(0, `micro-${process.pid}-${Date.now()}`);
    const driverId = registered.body.id;
    if (registered.status !== 202 || typeof driverId !== 'string') throw new Error(`could not register the driver to read (${registered.status})`);
    const path = `/v1/drivers/${driverId}`;
    const authorization = await platform.authorization();
    const agentFor = () => {
      const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
      agents.push(agent);
      return agent;
    };
    const throughGateway: Target = {
      name: 'gateway',
      url: new URL(path, platform.system.gatewayUrl),
      agent: agentFor(),
      headers: () => authorization,
    };
    // What the gateway adds on its way to the driver service (routing/upstreams.ts), minus the token it drops.
    const direct: Target = {
      name: 'direct',
      url: new URL(path, platform.system.url('driver')),
      agent: agentFor(),
      headers: () => {
        const requestId = randomUUID();
        return { 'x-request-id': requestId, 'x-correlation-id': requestId, 'x-auth-subject': 'dev-admin', 'x-auth-role': 'admin' };
      },
    };
    for (const target of [throughGateway, direct]) {
      const status = await get(target);
      if (status !== 200) throw new Error(`GET ${target.url.href} answered ${status}, not 200`);
    }

    options.log(
      `gateway: warm-up ${options.warmupMs / 1000} s per side, then ${options.concurrency} clients, ${options.durationMs / 1000} s per side…`,
    );
    for (const target of [direct, throughGateway]) await closedLoop(target, options.concurrency, options.warmupMs, options.signal);
    const sliceMs = options.durationMs / SLICES_PER_SIDE;
    const slices: Record<Target['name'], SliceResult[]> = { gateway: [], direct: [] };
    for (let slice = 0; slice < SLICES_PER_SIDE && !options.signal?.aborted; slice += 1) {
      for (const target of [direct, throughGateway]) {
        const result = await closedLoop(target, options.concurrency, sliceMs, options.signal);
        slices[target.name].push(result);
        options.log(`  ${target.name.padEnd(7)} ${round(result.latenciesMs.length / (result.elapsedMs / 1000))} req/s`);
      }
    }
    const summary = (results: SliceResult[]) => {
      const perSlice = results.map((result) => result.latenciesMs.length / (result.elapsedMs / 1000));
      const latencies = results.flatMap((result) => result.latenciesMs);
      return {
        perSecond: median(perSlice),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        perSlice: perSlice.map((value) => round(value)),
        requests: latencies.length,
        errors: results.reduce((total, result) => total + result.errors, 0),
      };
    };
    const gateway = summary(slices.gateway);
    const straight = summary(slices.direct);
    return {
      gatewayPerSecond: round(gateway.perSecond),
      directPerSecond: round(straight.perSecond),
      gatewayRatio: round(gateway.perSecond / Math.max(straight.perSecond, 0.001), 3),
      gatewayP50Ms: round(gateway.p50, 2),
      gatewayP99Ms: round(gateway.p99, 2),
      directP50Ms: round(straight.p50, 2),
      directP99Ms: round(straight.p99, 2),
      gatewaySlicesPerSecond: gateway.perSlice,
      directSlicesPerSecond: straight.perSlice,
      gatewayRequests: gateway.requests,
      directRequests: straight.requests,
      gatewayErrors: gateway.errors,
      directErrors: straight.errors,
      concurrency: options.concurrency,
      durationMs: options.durationMs,
    };
  } finally {
    for (const agent of agents) agent.destroy();
    await platform.stop();
  }
}

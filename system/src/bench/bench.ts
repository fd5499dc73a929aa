import { readFileSync } from 'node:fs';
import pg from 'pg';
import { SERVICES } from '@onboarding/contracts';
import { loadGatewayConfig } from '@onboarding/gateway';
import { BarePipeline } from './bare-pipeline';
import { CpuMeter, type CpuFigures, type CpuSubjects } from './cpu-accounting';
import { SqlRoundTrips } from './sql-round-trips';
import { percentile, round } from './measure';
import { BENCHMARK_SERVICE_ENV, LocalPlatform } from '../local-platform/local-platform';

export interface BenchOptions {
  durationMs: number;
  warmupMs: number;
  concurrency: number;
  /**
   * Major versions of `driver.registered` the driver publishes and identity binds: `[2]` is the
   * platform after the v2 migration; `[1, 2]` measures the migration window, when every registration is
   * published, delivered and processed twice.
   */
  registeredVersions: number[];
  /** Write a V8 CPU profile of each service here (`<service>.cpuprofile`). */
  profileDirectory?: string;
  log: (line: string) => void;
}

interface PhaseResult {
  completed: number;
  perSecond: number;
  latenciesMs: number[];
  lost: number;
}

/** One side's figures per registration, over its closed-loop window. */
export interface SideFigures {
  /** CPU ms per registration: each process, the PostgreSQL backends of each, RabbitMQ, total. */
  cpuMs: CpuFigures;
  /** SQL round trips per registration of each process (Query or Sync messages), and their sum. */
  roundTrips: Record<string, number> & { total: number };
  /** Resident memory of each process at the end of its closed loop. */
  rssMb: Record<string, number>;
}

export interface BenchReport {
  sagaPerSecond: number;
  floorPerSecond: number;
  ratio: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  floorP99Ms: number;
  halfRatePerSecond: number;
  halfRateP99Ms: number;
  floorHalfRateP99Ms: number;
  p99Ratio: number;
  completed: number;
  lost: number;
  floorCompleted: number;
  floorLost: number;
  /** Machine CPU (services + their PostgreSQL backends + RabbitMQ) per registration, platform and baseline. */
  cpuMsPerRegistration: number | null;
  floorCpuMsPerRegistration: number | null;
  cpuRatio: number | null;
  roundTripsPerRegistration: number;
  floorRoundTripsPerRegistration: number;
  platform: SideFigures;
  baseline: SideFigures;
  rssMb: Record<string, number>;
  /** V8 heap in use per service at the same moment, from its `/metrics` (the gateway serves none: 0). */
  heapUsedMb: Record<string, number>;
  concurrency: number;
  durationMs: number;
  registeredVersions: number[];
}

/** Completion = the welcome mail accepted by the SMTP server: resolves waiters by recipient. */
class MailWaiters {
  private readonly waiting = new Map<string, (at: number) => void>();
  arrived = (to: string[]) => {
    for (const address of to) this.waiting.get(address.toLowerCase())?.(performance.now());
  };
  forget(address: string): void {
    this.waiting.get(address)?.(Number.NaN);
  }
  wait(address: string, timeoutMs: number): Promise<number | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(address);
        resolve(undefined);
      }, timeoutMs);
      this.waiting.set(address, (at) => {
        clearTimeout(timer);
        this.waiting.delete(address);
        resolve(at);
      });
    });
  }
}

type Submit = (email: string) => Promise<boolean>;

let sequence = 0;
const nextEmail = (tag: string) => `bench.${tag}.${process.pid}.${(sequence += 1)}@example.com`;

/** Milliseconds from POST to mail; `undefined` when accepted but never completed (lost); 'refused' when not accepted. */
async function flow(tag: string, submit: Submit, waiters: MailWaiters): Promise<number | undefined | 'refused'> {
  const email = nextEmail(tag);
  const started = performance.now();
  const arrival = waiters.wait(email, 30_000);
  if (!(await submit(email).catch(() => false))) {
    waiters.forget(email);
    return 'refused';
  }
  const done = await arrival;
  return done === undefined ? undefined : done - started;
}

/** Called around a closed loop's measured window (after its warm-up), with the registrations it completed. */
interface Meter {
  begin(): Promise<void>;
  end(completed: number): Promise<void>;
}

/** N clients, each registering again as soon as its previous registration completed. */
async function closedLoop(tag: string, submit: Submit, waiters: MailWaiters, options: BenchOptions, meter: Meter): Promise<PhaseResult> {
  const run = async (durationMs: number, record: boolean) => {
    const latencies: number[] = [];
    let lost = 0;
    const deadline = performance.now() + durationMs;
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        for (let i = 0; performance.now() < deadline && i < 1_000_000; i += 1) {
          const latency = await flow(tag, submit, waiters);
          if (!record || latency === 'refused') continue;
          if (latency === undefined) lost += 1;
          else if (performance.now() <= deadline + 30_000) latencies.push(latency);
        }
      }),
    );
    return { latencies, lost };
  };
  await run(options.warmupMs, false);
  await meter.begin();
  const started = performance.now();
  const progress = setInterval(() => options.log(`  ${tag}: running…`), 5_000);
  const { latencies, lost } = await run(options.durationMs, true);
  clearInterval(progress);
  const elapsed = (performance.now() - started) / 1000;
  await meter.end(latencies.length);
  return { completed: latencies.length, perSecond: latencies.length / elapsed, latenciesMs: latencies, lost };
}

/** Registrations arriving at a fixed rate, whatever the latency (an open loop). */
async function fixedRate(tag: string, submit: Submit, waiters: MailWaiters, perSecond: number, durationMs: number): Promise<PhaseResult> {
  const flows: Promise<number | undefined | 'refused'>[] = [];
  const interval = 1000 / perSecond;
  const started = performance.now();
  for (let i = 0; performance.now() - started < durationMs && i < 1_000_000; i += 1) {
    flows.push(flow(tag, submit, waiters));
    const next = started + (i + 1) * interval;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  const results = (await Promise.all(flows)).filter((result) => result !== 'refused');
  const latencies = results.filter((latency): latency is number => latency !== undefined);
  return {
    completed: latencies.length,
    perSecond: latencies.length / (durationMs / 1000),
    latenciesMs: latencies,
    lost: results.length - latencies.length,
  };
}

/** `nodejs_heap_size_used_bytes` from a service's Prometheus endpoint, in MB (0 when it cannot be read). */
async function heapUsedMb(serviceUrl: string): Promise<number> {
  try {
    const response = await fetch(`${serviceUrl}/metrics`, { signal: AbortSignal.timeout(2_000) });
    const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\d+(?:\.\d+)?)/m.exec(await response.text());
    return match ? Math.round(Number(match[1]) / 2 ** 20) : 0;
  } catch {
    return 0;
  }
}

function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** Measures one side's closed loop: CPU of its processes, their PostgreSQL backends and RabbitMQ; round trips. */
class SideMeter implements Meter {
  figures?: SideFigures;
  private cpuBefore?: Awaited<ReturnType<CpuMeter['sample']>>;
  private tripsBefore: Record<string, number> = {};

  constructor(
    private readonly cpu: CpuMeter,
    private readonly trips: SqlRoundTrips,
    /** Process ids by name; names double as the round-trip counters' (prefixed by `prefix`). */
    private readonly pids: () => Record<string, number>,
    private readonly prefix: string,
  ) {}

  private subjects(): CpuSubjects {
    const ports = this.trips.upstreamPorts();
    const databasePorts = Object.fromEntries(Object.keys(this.pids()).map((name) => [name, ports[`${this.prefix}${name}`] ?? []]));
    return { processes: this.pids(), databasePorts };
  }

  private ownTrips(): Record<string, number> {
    const all = this.trips.snapshot();
    return Object.fromEntries(Object.keys(this.pids()).map((name) => [name, all[`${this.prefix}${name}`] ?? 0]));
  }

  async begin(): Promise<void> {
    this.tripsBefore = this.ownTrips();
    this.cpuBefore = await this.cpu.sample(this.subjects());
  }

  async end(completed: number): Promise<void> {
    const after = await this.cpu.sample(this.subjects());
    const tripsAfter = this.ownTrips();
    const perRegistration = (count: number) => (completed ? round(count / completed, 1) : 0);
    const roundTrips = Object.fromEntries(
      Object.entries(tripsAfter).map(([name, count]) => [name, perRegistration(count - (this.tripsBefore[name] ?? 0))]),
    );
    const total = perRegistration(Object.entries(tripsAfter).reduce((sum, [name, count]) => sum + count - (this.tripsBefore[name] ?? 0), 0));
    this.figures = {
      cpuMs: CpuMeter.perRegistration(this.cpuBefore!, after, completed),
      roundTrips: { ...roundTrips, total },
      rssMb: Object.fromEntries(Object.entries(this.pids()).map(([name, pid]) => [name, rssMb(pid)])),
    };
  }
}

/**
 * `npm run bench`: the whole platform on a fresh database and vhost, driven through the gateway (closed loop
 * of N clients, then a fixed rate at half the sustained throughput), and in the same run the fair bare
 * baseline — five plain `pg` + `amqplib` processes doing the same work (bare-pipeline.ts) — the floor the
 * ratios are taken against. Every database connection of both goes through a round-trip counter.
 */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const waiters = new MailWaiters();
  const trips = new SqlRoundTrips();
  const platform = new LocalPlatform();
  let bare: BarePipeline | undefined;
  let admin: pg.Client | undefined;
  try {
    options.log('starting the platform (fresh database and vhost)…');
    await platform.start('bench', {
      env: {
        ...BENCHMARK_SERVICE_ENV,
        PUBLISH_REGISTERED_VERSIONS: options.registeredVersions.join(','),
        CONSUME_REGISTERED_VERSIONS: options.registeredVersions.join(','),
      },
      onMail: (mail) => waiters.arrived(mail.to),
      cpuProfileDirectory: options.profileDirectory,
      databaseUrlFor: (service, url) => trips.route(`platform.${service}`, url),
    });
    options.log('starting the bare baseline (five processes, database and vhost of their own)…');
    const gatewayConfig = loadGatewayConfig({});
    bare = new BarePipeline({
      // The same SMTP server as the platform's mailer, and the tokens the platform's gateway accepts in development.
      smtpUrl: platform.mail.url,
      jwt: { secret: gatewayConfig.JWT_SECRET, issuer: gatewayConfig.JWT_ISSUER, audience: gatewayConfig.JWT_AUDIENCE },
      databaseUrlFor: (role, url) => trips.route(`bare.${role}`, url),
    });
    await bare.start();
    const bareProcesses = bare;
    admin = new pg.Client({ connectionString: platform.databaseUrl });
    await admin.connect();
    const cpu = new CpuMeter(admin);
    const authorization = await platform.authorization();
    const registerAt =
      (url: string): Submit =>
      async (email) => {
        const response = await fetch(`${url}/v1/drivers`, {
          method: 'POST',
          headers: { ...authorization, 'content-type': 'application/json' },
          body: JSON.stringify({ firstName: 'Bench', lastName: 'Driver', email, phone: '+44 20 7946 0000' }),
        });
        await response.arrayBuffer();
        return response.status === 202;
      };
    const registerThroughGateway = registerAt(platform.system.gatewayUrl);
    const registerBare = registerAt(bareProcesses.url);
    const servicePids = () =>
      Object.fromEntries(Object.entries(platform.system.pids()).filter((entry): entry is [string, number] => entry[1] !== undefined));
    const floorMeter = new SideMeter(cpu, trips, () => bareProcesses.pids(), 'bare.');
    const sagaMeter = new SideMeter(cpu, trips, servicePids, 'platform.');

    options.log(`bare baseline: ${options.concurrency} clients, ${options.durationMs / 1000} s…`);
    const floor = await closedLoop('floor', registerBare, waiters, options, floorMeter);
    options.log(`  ${floor.perSecond.toFixed(1)} registrations/s`);

    options.log(`platform: ${options.concurrency} clients, ${options.durationMs / 1000} s…`);
    const saga = await closedLoop('saga', registerThroughGateway, waiters, options, sagaMeter);
    const pids = platform.system.pids();
    const rss = Object.fromEntries(SERVICES.map(({ name }) => [name, pids[name] ? rssMb(pids[name]) : 0]));
    const heap = Object.fromEntries(
      await Promise.all(SERVICES.map(async ({ name }) => [name, await heapUsedMb(platform.system.url(name))] as const)),
    );
    options.log(`  ${saga.perSecond.toFixed(1)} registrations/s`);

    const halfRate = Math.max(1, Math.round(saga.perSecond / 2));
    const fixedMs = Math.max(2_000, Math.round(options.durationMs / 2));
    options.log(`fixed rate ${halfRate}/s for ${fixedMs / 1000} s, platform then baseline…`);
    const sagaHalf = await fixedRate('saga-rate', registerThroughGateway, waiters, halfRate, fixedMs);
    const floorHalf = await fixedRate('floor-rate', registerBare, waiters, halfRate, fixedMs);

    const sagaFigures = sagaMeter.figures!;
    const floorFigures = floorMeter.figures!;
    const cpuPer = (figures: SideFigures, completed: number) => (completed ? figures.cpuMs.total : null);
    const sagaCpu = cpuPer(sagaFigures, saga.completed);
    const floorCpu = cpuPer(floorFigures, floor.completed);
    return {
      sagaPerSecond: round(saga.perSecond),
      floorPerSecond: round(floor.perSecond),
      ratio: round(saga.perSecond / Math.max(floor.perSecond, 0.001), 3),
      p50Ms: round(percentile(saga.latenciesMs, 50)),
      p95Ms: round(percentile(saga.latenciesMs, 95)),
      p99Ms: round(percentile(saga.latenciesMs, 99)),
      floorP99Ms: round(percentile(floor.latenciesMs, 99)),
      halfRatePerSecond: halfRate,
      halfRateP99Ms: round(percentile(sagaHalf.latenciesMs, 99)),
      floorHalfRateP99Ms: round(percentile(floorHalf.latenciesMs, 99)),
      p99Ratio: round(percentile(sagaHalf.latenciesMs, 99) / Math.max(percentile(floorHalf.latenciesMs, 99), 0.001), 3),
      completed: saga.completed + sagaHalf.completed,
      lost: saga.lost + sagaHalf.lost,
      floorCompleted: floor.completed + floorHalf.completed,
      floorLost: floor.lost + floorHalf.lost,
      cpuMsPerRegistration: sagaCpu,
      floorCpuMsPerRegistration: floorCpu,
      cpuRatio: sagaCpu !== null && floorCpu ? round(sagaCpu / floorCpu, 3) : null,
      roundTripsPerRegistration: sagaFigures.roundTrips.total,
      floorRoundTripsPerRegistration: floorFigures.roundTrips.total,
      platform: sagaFigures,
      baseline: floorFigures,
      rssMb: rss,
      heapUsedMb: heap,
      concurrency: options.concurrency,
      durationMs: options.durationMs,
      registeredVersions: options.registeredVersions,
    };
  } finally {
    await admin?.end().catch(() => undefined);
    await bare?.stop();
    await platform.stop();
    await trips.stop();
  }
}

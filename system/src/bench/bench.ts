import { readFileSync } from 'node:fs';
import { BarePipeline } from './bare-pipeline';
import { SERVICES } from '@onboarding/contracts';
import { MailCatcher } from '@onboarding/dev-mail';
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
  cpuMsPerRegistration: number | null;
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

/** N clients, each registering again as soon as its previous registration completed. */
async function closedLoop(tag: string, submit: Submit, waiters: MailWaiters, options: BenchOptions): Promise<PhaseResult> {
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
  const started = performance.now();
  const progress = setInterval(() => options.log(`  ${tag}: running…`), 5_000);
  const { latencies, lost } = await run(options.durationMs, true);
  clearInterval(progress);
  const elapsed = (performance.now() - started) / 1000;
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

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks
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
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : 0;
}

/**
 * `npm run bench`: the whole platform on fresh databases and a fresh vhost, driven through the gateway
 * (closed loop of N clients, then a fixed rate at half the sustained throughput), and in the same run the
 * bare pg + amqplib pipeline doing the same work — the floor the ratio is taken against.
 */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const sagaWaiters = new MailWaiters();
  const platform = new LocalPlatform();
  options.log('starting the platform (fresh database and vhost)…');
  await platform.start('bench', {
    env: {
      ...BENCHMARK_SERVICE_ENV,
      PUBLISH_REGISTERED_VERSIONS: options.registeredVersions.join(','),
      CONSUME_REGISTERED_VERSIONS: options.registeredVersions.join(','),
    },
    onMail: (mail) => sagaWaiters.arrived(mail.to),
    cpuProfileDirectory: options.profileDirectory,
  });
  const floorWaiters = new MailWaiters();
  const floorMail = new MailCatcher({ onMail: (mail) => floorWaiters.arrived(mail.to) });
  await floorMail.start();
  const bare = new BarePipeline({ databaseUrl: platform.databaseUrl, amqpUrl: platform.amqpUrl, smtpUrl: floorMail.url });
  await bare.start();
  const authorization = await platform.authorization();
  const registerThroughGateway: Submit = async (email) => {
    const response = await fetch(`${platform.system.gatewayUrl}/v1/drivers`, {
      method: 'POST',
      headers: { ...authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ firstName: 'Bench', lastName: 'Driver', email, phone: '+44 20 7946 0000' }),
    });
    await response.arrayBuffer();
    return response.status === 202;
  };
  const registerBare: Submit = async (email) => {
    const response = await fetch(`${bare.url}/`, { method: 'POST', body: JSON.stringify({ email }) });
    await response.arrayBuffer();
    return response.status === 202;
  };

  try {
    options.log(`bare baseline: ${options.concurrency} clients, ${options.durationMs / 1000} s…`);
    const floor = await closedLoop('floor', registerBare, floorWaiters, options);
    options.log(`  ${floor.perSecond.toFixed(1)} flows/s`);

    const pids = platform.system.pids();
    const ticksBefore = Object.values(pids).reduce((sum, pid) => sum + cpuTicks(pid), 0);
    options.log(`platform: ${options.concurrency} clients, ${options.durationMs / 1000} s…`);
    const saga = await closedLoop('saga', registerThroughGateway, sagaWaiters, options);
    const ticksAfter = Object.values(pids).reduce((sum, pid) => sum + cpuTicks(pid), 0);
    const rss = Object.fromEntries(SERVICES.map(({ name }) => [name, pids[name] ? rssMb(pids[name]) : 0]));
    const heap = Object.fromEntries(
      await Promise.all(SERVICES.map(async ({ name }) => [name, await heapUsedMb(platform.system.url(name))] as const)),
    );
    options.log(`  ${saga.perSecond.toFixed(1)} registrations/s`);

    const halfRate = Math.max(1, Math.round(saga.perSecond / 2));
    const fixedMs = Math.max(2_000, Math.round(options.durationMs / 2));
    options.log(`fixed rate ${halfRate}/s for ${fixedMs / 1000} s, platform then baseline…`);
    const sagaHalf = await fixedRate('saga-rate', registerThroughGateway, sagaWaiters, halfRate, fixedMs);
    const floorHalf = await fixedRate('floor-rate', registerBare, floorWaiters, halfRate, fixedMs);

    const ticksPerSecond = 100; // USER_HZ on Linux
    const report: BenchReport = {
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
      cpuMsPerRegistration: saga.completed ? round(((ticksAfter - ticksBefore) / ticksPerSecond / saga.completed) * 1000, 2) : null,
      rssMb: rss,
      heapUsedMb: heap,
      concurrency: options.concurrency,
      durationMs: options.durationMs,
      registeredVersions: options.registeredVersions,
    };
    return report;
  } finally {
    await bare.stop();
    await floorMail.stop();
    await platform.stop();
  }
}

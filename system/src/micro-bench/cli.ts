import { numberOption, parseCommandLine } from '../cli/args';
import type { ConsumeReport } from './consume';
import type { GatewayReport } from './gateway';
import type { RelayLagReport } from './relay-lag';

const PARTS = ['consume', 'relay', 'gateway'] as const;
type Part = (typeof PARTS)[number];

export interface MicroBenchSummary {
  consumeRatio: number | null;
  runtimePerSecond: number | null;
  rawPerSecond: number | null;
  consumeLost: number | null;
  relayLagP50Ms: number | null;
  relayLagP95Ms: number | null;
  relayLagP99Ms: number | null;
  relayLagMaxMs: number | null;
  relayRatePerSecond: number | null;
  relayTargetRatePerSecond: number | null;
  relayLost: number | null;
  relayDirectLagP99Ms: number | null;
  gatewayRatio: number | null;
  gatewayPerSecond: number | null;
  directPerSecond: number | null;
  gatewayP99Ms: number | null;
  directP99Ms: number | null;
  gatewayErrors: number | null;
  consume: ConsumeReport | null;
  relay: RelayLagReport | null;
  gateway: GatewayReport | null;
}

/** The one JSON line: the headline figures flat (null for a part not run), then each part's full report. */
export function microBenchSummary(consume?: ConsumeReport, relay?: RelayLagReport, gateway?: GatewayReport): MicroBenchSummary {
  return {
    consumeRatio: consume?.consumeRatio ?? null,
    runtimePerSecond: consume?.runtimePerSecond ?? null,
    rawPerSecond: consume?.rawPerSecond ?? null,
    consumeLost: consume ? consume.lost + consume.parked : null,
    relayLagP50Ms: relay?.relayLagP50Ms ?? null,
    relayLagP95Ms: relay?.relayLagP95Ms ?? null,
    relayLagP99Ms: relay?.relayLagP99Ms ?? null,
    relayLagMaxMs: relay?.relayLagMaxMs ?? null,
    relayRatePerSecond: relay?.relayRatePerSecond ?? null,
    relayTargetRatePerSecond: relay?.targetRatePerSecond ?? null,
    relayLost: relay?.relayLost ?? null,
    relayDirectLagP99Ms: relay?.directLagP99Ms ?? null,
    gatewayRatio: gateway?.gatewayRatio ?? null,
    gatewayPerSecond: gateway?.gatewayPerSecond ?? null,
    directPerSecond: gateway?.directPerSecond ?? null,
    gatewayP99Ms: gateway?.gatewayP99Ms ?? null,
    directP99Ms: gateway?.directP99Ms ?? null,
    gatewayErrors: gateway?.gatewayErrors ?? null,
    consume: consume ?? null,
    relay: relay ?? null,
    gateway: gateway ?? null,
  };
}

/** The readable table printed before the JSON line. */
export function microBenchTable(consume?: ConsumeReport, relay?: RelayLagReport, gateway?: GatewayReport): string[] {
  const rows: [string, string, string, string][] = [];
  if (consume) {
    rows.push(
      [
        `consume msgs/s (best of ${consume.runtimeRunsPerSecond.length})`,
        String(consume.runtimePerSecond),
        String(consume.rawPerSecond),
        `${consume.consumeRatio} (≥ 0.8)`,
      ],
      ['  every run', consume.runtimeRunsPerSecond.join(' / '), consume.rawRunsPerSecond.join(' / '), ''],
      ['  CPU ms per message (this process)', String(consume.runtimeCpuMsPerMessage), String(consume.rawCpuMsPerMessage), ''],
      ['  lost / duplicated / parked', `${consume.lost} / ${consume.duplicates} / ${consume.parked}`, '', ''],
    );
  }
  if (relay) {
    rows.push(
      [`relay rows/s (target ${relay.targetRatePerSecond})`, String(relay.relayRatePerSecond), String(relay.directRatePerSecond), ''],
      [
        'relay lag p50 / p95 / p99 / max ms',
        `${relay.relayLagP50Ms} / ${relay.relayLagP95Ms} / ${relay.relayLagP99Ms} / ${relay.relayLagMaxMs}`,
        `${relay.directLagP50Ms} / — / ${relay.directLagP99Ms} / —`,
        `p99 ≤ 10`,
      ],
      [
        '  lost / duplicated / not produced',
        `${relay.relayLost} / ${relay.relayDuplicates} / ${relay.relayProducerSkipped + relay.relayProducerFailed}`,
        String(relay.directLost),
        '',
      ],
    );
  }
  if (gateway) {
    rows.push(
      [
        `gateway req/s (${gateway.concurrency} clients, median slice)`,
        String(gateway.gatewayPerSecond),
        String(gateway.directPerSecond),
        String(gateway.gatewayRatio),
      ],
      ['  every slice', gateway.gatewaySlicesPerSecond.join(' / '), gateway.directSlicesPerSecond.join(' / '), ''],
      ['gateway p50 / p99 ms', `${gateway.gatewayP50Ms} / ${gateway.gatewayP99Ms}`, `${gateway.directP50Ms} / ${gateway.directP99Ms}`, ''],
      ['  errors', String(gateway.gatewayErrors), String(gateway.directErrors), ''],
    );
  }
  const lines = [`${'measure'.padEnd(44)}${'measured'.padEnd(40)}${'baseline'.padEnd(24)}ratio (target)`];
  for (const [name, measured, baseline, ratio] of rows) lines.push(`${name.padEnd(44)}${measured.padEnd(40)}${baseline.padEnd(24)}${ratio}`);
  lines.push('baselines: consume = plain amqplib + pg, relay = publish with confirm right after commit, gateway = straight to the driver service');
  return lines;
}

const USAGE = `usage: npm run bench:micro -- [--only consume,relay,gateway] [--messages N] [--rate R] [--duration S] [--prefetch P] [--concurrency C]

  --only         the parts to run, comma-separated: ${PARTS.join(', ')} (default: all)
  --messages     messages per consume run, 1..100000 (default 5000)
  --rate         relay rows per second, more than 0 and at most 20000 (default 1000)
  --duration     relay and gateway measurement, more than 0 and at most 120 s (default 10)
  --prefetch     consumer prefetch, 1..1000 (default 16)
  --concurrency  gateway clients, 1..512 (default 32)

Prints progress, a table, then one JSON line. Both --name value and --name=value work; an unknown option or
an invalid value is an error (exit 2).`;

/**
 * `npm run bench:micro [-- --only consume|relay|gateway] [--messages N] [--rate R] [--duration S]
 * [--prefetch P] [--concurrency C]`: progress, a table, then one JSON line.
 */
async function main(): Promise<void> {
  const cli = parseCommandLine(USAGE, {
    only: { type: 'string' },
    messages: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string' },
    prefetch: { type: 'string' },
    concurrency: { type: 'string' },
  });
  const chosen = cli.values.only === undefined ? [...PARTS] : cli.values.only.split(',');
  const unknown = chosen.filter((part) => !(PARTS as readonly string[]).includes(part));
  if (unknown.length > 0) cli.fail(`--only takes ${PARTS.join(', ')} (comma-separated), not "${unknown.join(',')}"`);
  const parts = new Set(chosen as Part[]);
  const messages = numberOption(cli, 'messages', cli.values.messages, { fallback: 5_000, min: 1, max: 100_000, integer: true });
  const rate = numberOption(cli, 'rate', cli.values.rate, { fallback: 1_000, min: 0, minExclusive: true, max: 20_000 });
  const durationMs = numberOption(cli, 'duration', cli.values.duration, { fallback: 10, min: 0, minExclusive: true, max: 120 }) * 1000;
  const prefetch = numberOption(cli, 'prefetch', cli.values.prefetch, { fallback: 16, min: 1, max: 1_000, integer: true });
  const concurrency = numberOption(cli, 'concurrency', cli.values.concurrency, { fallback: 32, min: 1, max: 512, integer: true });
  const log = (line: string) => console.log(`[micro] ${line}`);

  // Ctrl-C ends the current part early; its own cleanup drops the database and vhost and stops the processes.
  const interrupted = new AbortController();
  const stop = () => {
    if (interrupted.signal.aborted) process.exit(130);
    log('interrupted: cleaning up (again to quit at once)…');
    interrupted.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Without this a stray exception would end the process before any part dropped its database and vhost.
  let crashed: Error | undefined;
  process.on('uncaughtException', (err) => {
    crashed ??= err;
    log(`failed: ${err.message}; cleaning up…`);
    interrupted.abort();
  });
  const signal = interrupted.signal;

  // Loaded only now: the benchmarks' modules take a second or two to load, which a refused command need not wait for.
  const [{ runConsumeBench }, { runRelayLagBench }, { runGatewayBench }] = await Promise.all([
    import('./consume.js'),
    import('./relay-lag.js'),
    import('./gateway.js'),
  ]);
  const consume = parts.has('consume') ? await runConsumeBench({ messages, prefetch, runsPerSide: 2, log, signal }) : undefined;
  const relay =
    parts.has('relay') && !signal.aborted
      ? await runRelayLagBench({
          ratePerSecond: rate,
          durationMs,
          warmupMs: 2_000,
          directDurationMs: Math.min(durationMs, 5_000),
          log,
          signal,
        })
      : undefined;
  const gateway =
    parts.has('gateway') && !signal.aborted ? await runGatewayBench({ concurrency, durationMs, warmupMs: 2_000, log, signal }) : undefined;
  if (crashed) throw crashed;
  if (signal.aborted) process.exit(130);

  console.log('');
  for (const line of microBenchTable(consume, relay, gateway)) console.log(line);
  console.log(JSON.stringify(microBenchSummary(consume, relay, gateway)));
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(`micro-bench: ${err.message}`);
    process.exit(1);
  });
}

import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { summarizeProfile } from './cpu-profile';
import { SERVICES } from '@onboarding/contracts';
import { numberOption, parseCommandLine } from '../cli/args';

const USAGE = `usage: npm run bench -- [--duration S] [--warmup S] [--concurrency N] [--registered-versions 2|1,2] [--profile DIR]

  --duration             closed-loop measurement, more than 0 and at most 600 s (default 20)
  --warmup               warm-up before measuring, more than 0 and at most 120 s (default 5)
  --concurrency          clients of the closed loop, 1..500 (default 50)
  --registered-versions  driver.registered versions published: 2 (default), or 1,2 for the migration window
  --profile              write a V8 CPU profile of each service into DIR and summarise where each spent its CPU

Prints progress, a table, then one JSON line. Both --name value and --name=value work; an unknown option or
an invalid value is an error (exit 2).`;

/**
 * `npm run bench [-- --duration 20 --warmup 5 --concurrency 50 --registered-versions 2|1,2 --profile <dir>]`:
 * a table, then one JSON line.
 */
async function main(): Promise<void> {
  const cli = parseCommandLine(USAGE, {
    duration: { type: 'string' },
    warmup: { type: 'string' },
    concurrency: { type: 'string' },
    'registered-versions': { type: 'string', default: '2' },
    profile: { type: 'string' },
  });
  const positive = { min: 0, minExclusive: true };
  const durationSeconds = numberOption(cli, 'duration', cli.values.duration, { ...positive, fallback: 20, max: 600 });
  const warmupSeconds = numberOption(cli, 'warmup', cli.values.warmup, { ...positive, fallback: 5, max: 120 });
  const concurrency = numberOption(cli, 'concurrency', cli.values.concurrency, { fallback: 50, min: 1, max: 500, integer: true });
  const versions = cli.values['registered-versions'];
  const registeredVersions = versions.split(',').map(Number);
  if (registeredVersions.some((version) => version !== 1 && version !== 2) || new Set(registeredVersions).size !== registeredVersions.length) {
    cli.fail(`--registered-versions must be 2 or 1,2, not "${versions}"`);
  }
  if (cli.values.profile === '') cli.fail('--profile needs a directory');
  // Only now, with every option valid, does the CLI touch anything.
  const profileDirectory = cli.values.profile === undefined ? undefined : resolve(cli.values.profile);
  if (profileDirectory) mkdirSync(profileDirectory, { recursive: true });
  // Loaded only now: the platform's modules take a second or two to load, which a refused command need not wait for.
  const { runBench } = await import('./bench.js');
  const report = await runBench({
    registeredVersions,
    profileDirectory,
    durationMs: durationSeconds * 1000,
    warmupMs: warmupSeconds * 1000,
    concurrency,
    log: (line) => console.log(`[bench] ${line}`),
  });
  const rows: [string, string, string][] = [
    ['registrations/s (closed loop)', String(report.sagaPerSecond), String(report.floorPerSecond)],
    ['p50 / p95 / p99 ms (closed loop)', `${report.p50Ms} / ${report.p95Ms} / ${report.p99Ms}`, `— / — / ${report.floorP99Ms}`],
    [`p99 ms at ${report.halfRatePerSecond}/s`, String(report.halfRateP99Ms), String(report.floorHalfRateP99Ms)],
    ['machine CPU ms per registration', String(report.cpuMsPerRegistration ?? 'n/a'), String(report.floorCpuMsPerRegistration ?? 'n/a')],
    ['SQL round trips per registration', String(report.roundTripsPerRegistration), String(report.floorRoundTripsPerRegistration)],
    ['registrations completed / lost', `${report.completed} / ${report.lost}`, `${report.floorCompleted} / ${report.floorLost}`],
  ];
  console.log('');
  console.log(`${'measure'.padEnd(36)}${'platform'.padEnd(30)}bare baseline`);
  for (const [name, saga, floor] of rows) console.log(`${name.padEnd(36)}${saga.padEnd(30)}${floor}`);
  console.log("\nper process, per registration: CPU ms (its PostgreSQL backends' CPU ms), SQL round trips, RSS MB");
  for (const [side, figures] of [
    ['platform', report.platform],
    ['baseline', report.baseline],
  ] as const) {
    const parts = Object.keys(figures.rssMb).map(
      (name) =>
        `${name} ${figures.cpuMs.processes[name] ?? 0} (${figures.cpuMs.postgres[name] ?? 0}), ${figures.roundTrips[name] ?? 0} rt, ${figures.rssMb[name]} MB`,
    );
    console.log(`  ${side.padEnd(9)} ${parts.join('; ')}`);
    console.log(
      `  ${''.padEnd(9)} PostgreSQL ${figures.cpuMs.postgresTotal}, RabbitMQ ${figures.cpuMs.rabbitmq} (whole node, shared), total ${figures.cpuMs.total}; every core busy ${figures.cpuMs.machineBusy} (load generator and other users included)`,
    );
  }
  console.log(
    `platform V8 heap in use MB: ${Object.entries(report.heapUsedMb)
      .map(([name, mb]) => `${name} ${mb || 'n/a'}`)
      .join(', ')}`,
  );
  if (profileDirectory) printProfiles(profileDirectory);
  console.log(
    `ratio ${report.ratio} (target ≥ 0.5), CPU ratio ${report.cpuRatio ?? 'n/a'} (target ≤ 2), p99 ratio at half rate ${report.p99Ratio} (target ≤ 2), lost ${report.lost + report.floorLost}`,
  );
  console.log(JSON.stringify(report));
}

/** Where each service spent its CPU during the whole run (start-up included), by origin and by function. */
function printProfiles(directory: string): void {
  for (const { name } of SERVICES) {
    const file = join(directory, `${name}.cpuprofile`);
    if (!existsSync(file)) continue;
    const summary = summarizeProfile(file);
    const share = (ms: number) => `${((ms / Math.max(summary.busyMs, 1)) * 100).toFixed(1)}%`;
    console.log(`\n${name}: ${summary.busyMs} ms on the CPU (${file})`);
    for (const [origin, ms] of summary.byOrigin) console.log(`  ${share(ms).padStart(6)}  ${origin}`);
    console.log('  top functions:');
    for (const [fn, ms] of summary.byFunction) console.log(`  ${share(ms).padStart(6)}  ${fn}`);
  }
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});

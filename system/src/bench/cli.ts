import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runBench } from './bench';
import { summarizeProfile } from './cpu-profile';
import { SERVICES } from '@onboarding/contracts';

/**
 * `npm run bench [-- --duration 20 --warmup 5 --concurrency 50 --registered-versions 2|1,2 --profile <dir>]`:
 * a table, then one JSON line.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number) => {
    const index = args.indexOf(`--${name}`);
    const value = index >= 0 ? Number(args[index + 1]) : fallback;
    if (!Number.isFinite(value) || value <= 0) {
      console.error(`--${name} must be a positive number`);
      process.exit(2);
    }
    return value;
  };
  const profileIndex = args.indexOf('--profile');
  const profileDirectory = profileIndex >= 0 ? resolve(args[profileIndex + 1] ?? 'bench-profiles') : undefined;
  if (profileDirectory) mkdirSync(profileDirectory, { recursive: true });
  const versionsIndex = args.indexOf('--registered-versions');
  const registeredVersions = (versionsIndex >= 0 ? (args[versionsIndex + 1] ?? '') : '2').split(',').map(Number);
  if (registeredVersions.length === 0 || registeredVersions.some((version) => version !== 1 && version !== 2)) {
    console.error('--registered-versions must be 2 or 1,2');
    process.exit(2);
  }
  const report = await runBench({
    registeredVersions,
    profileDirectory,
    durationMs: Math.min(option('duration', 20), 600) * 1000,
    warmupMs: Math.min(option('warmup', 5), 120) * 1000,
    concurrency: Math.min(option('concurrency', 50), 500),
    log: (line) => console.log(`[bench] ${line}`),
  });
  const rows: [string, string, string][] = [
    ['throughput (flows/s)', String(report.sagaPerSecond), String(report.floorPerSecond)],
    ['p50 / p95 / p99 ms (closed loop)', `${report.p50Ms} / ${report.p95Ms} / ${report.p99Ms}`, `— / — / ${report.floorP99Ms}`],
    [`p99 ms at ${report.halfRatePerSecond}/s`, String(report.halfRateP99Ms), String(report.floorHalfRateP99Ms)],
    ['CPU ms per registration (services)', String(report.cpuMsPerRegistration ?? 'n/a'), '—'],
  ];
  console.log('');
  console.log(`${'measure'.padEnd(36)}${'platform'.padEnd(30)}bare baseline`);
  for (const [name, saga, floor] of rows) console.log(`${name.padEnd(36)}${saga.padEnd(30)}${floor}`);
  console.log(
    `RSS MB (V8 heap in use): ${Object.entries(report.rssMb)
      .map(([name, mb]) => `${name} ${mb} (${report.heapUsedMb[name] || 'n/a'})`)
      .join(', ')}`,
  );
  if (profileDirectory) printProfiles(profileDirectory);
  console.log(`ratio ${report.ratio} (target ≥ 0.5), p99 ratio at half rate ${report.p99Ratio} (target ≤ 2.5), lost ${report.lost}`);
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

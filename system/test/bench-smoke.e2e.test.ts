import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKEND_SERVICES, SERVICES } from '@onboarding/contracts';
import { runBench } from '../src/bench/bench';
import { summarizeProfile } from '../src/bench/cpu-profile';

describe('benchmark smoke (asserts that it works, never a speed)', () => {
  const profiles = mkdtempSync(join(tmpdir(), 'bench-profiles-'));
  afterAll(() => rmSync(profiles, { recursive: true, force: true }));

  it('runs the platform and the bare baseline briefly, reports every figure and profiles each service', async () => {
    const report = await runBench({
      durationMs: 2_000,
      warmupMs: 500,
      concurrency: 4,
      registeredVersions: [2],
      profileDirectory: profiles,
      log: () => undefined,
    });
    expect(report.completed).toBeGreaterThan(0);
    expect(report.sagaPerSecond).toBeGreaterThan(0);
    expect(report.floorPerSecond).toBeGreaterThan(0);
    expect(report.ratio).toBeGreaterThan(0);
    expect(report.lost).toBe(0);
    expect(Object.keys(report.rssMb).sort()).toEqual(SERVICES.map((entry) => entry.name).sort());
    for (const { name } of BACKEND_SERVICES) expect(report.heapUsedMb[name]).toBeGreaterThan(0);
    for (const key of ['sagaPerSecond', 'floorPerSecond', 'ratio', 'p50Ms', 'p99Ms', 'completed', 'lost']) expect(report).toHaveProperty(key);
    // The fair baseline runs as five processes of its own, checked end to end like the platform.
    expect(report.floorCompleted).toBeGreaterThan(0);
    expect(report.floorLost).toBe(0);
    // The registration path's five processes; operations (an auditor off that path) has no bare counterpart.
    expect(Object.keys(report.baseline.cpuMs.processes).sort()).toEqual(['driver', 'gateway', 'identity', 'mailer', 'notification']);
    // Per-process CPU and round trips on both sides: every service with a database makes round trips.
    for (const { name } of BACKEND_SERVICES) {
      expect(report.platform.roundTrips[name]).toBeGreaterThan(0);
      if (name !== 'operations') expect(report.baseline.roundTrips[name]).toBeGreaterThan(0);
    }
    expect(report.cpuMsPerRegistration).toBeGreaterThan(0);
    expect(report.floorCpuMsPerRegistration).toBeGreaterThan(0);
    expect(report.platform.cpuMs.postgresTotal).toBeGreaterThan(0);

    const driverProfile = join(profiles, 'driver.cpuprofile');
    expect(existsSync(driverProfile)).toBe(true);
    const summary = summarizeProfile(driverProfile);
    expect(summary.busyMs).toBeGreaterThan(0);
    expect(summary.byOrigin.map(([origin]) => origin)).toContain('@mikro-orm/core');
  }, 120_000);
});

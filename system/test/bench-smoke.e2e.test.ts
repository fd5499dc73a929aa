import { runBench } from '../src/bench';

describe('benchmark smoke (asserts that it works, never a speed)', () => {
  it('runs the platform and the bare baseline briefly and reports every figure', async () => {
    const report = await runBench({ durationMs: 2_000, warmupMs: 500, concurrency: 4, log: () => undefined });
    expect(report.completed).toBeGreaterThan(0);
    expect(report.sagaPerSecond).toBeGreaterThan(0);
    expect(report.floorPerSecond).toBeGreaterThan(0);
    expect(report.ratio).toBeGreaterThan(0);
    expect(report.lost).toBe(0);
    expect(Object.keys(report.rssMb).sort()).toEqual(['driver', 'gateway', 'identity', 'mailer', 'notification']);
    for (const key of ['sagaPerSecond', 'floorPerSecond', 'ratio', 'p50Ms', 'p99Ms', 'completed', 'lost']) expect(report).toHaveProperty(key);
  }, 120_000);
});

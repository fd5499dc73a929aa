import { microBenchSummary } from '../src/micro-bench/cli';
import { runConsumeBench, type ConsumeReport } from '../src/micro-bench/consume';
import { runGatewayBench, type GatewayReport } from '../src/micro-bench/gateway';
import { runRelayLagBench, type RelayLagReport } from '../src/micro-bench/relay-lag';

const log = () => undefined;

describe('micro-benchmark smoke (asserts that each part works and loses nothing, never a speed)', () => {
  let consume: ConsumeReport;
  let relay: RelayLagReport;
  let gateway: GatewayReport;

  it('drains the same messages with the runtime and with raw amqplib, every one recorded once', async () => {
    consume = await runConsumeBench({ messages: 100, prefetch: 16, runsPerSide: 1, log });
    expect(consume.runtimeRunsPerSecond).toHaveLength(1);
    expect(consume.rawRunsPerSecond).toHaveLength(1);
    expect(consume.runtimePerSecond).toBeGreaterThan(0);
    expect(consume.rawPerSecond).toBeGreaterThan(0);
    expect(consume.consumeRatio).toBeGreaterThan(0);
    expect({ lost: consume.lost, duplicates: consume.duplicates, parked: consume.parked }).toEqual({ lost: 0, duplicates: 0, parked: 0 });
  }, 120_000);

  it('measures the relay lag of committed outbox rows and the direct baseline, losing none', async () => {
    relay = await runRelayLagBench({ ratePerSecond: 100, durationMs: 1_000, warmupMs: 300, directDurationMs: 500, log });
    expect(relay.relayMeasured).toBeGreaterThan(0);
    expect(relay.relayRatePerSecond).toBeGreaterThan(0);
    expect(relay.relayLagP99Ms).toBeGreaterThanOrEqual(relay.relayLagP50Ms);
    expect(relay.relayLagMaxMs).toBeGreaterThanOrEqual(relay.relayLagP99Ms);
    expect(relay.directRatePerSecond).toBeGreaterThan(0);
    expect({ relayLost: relay.relayLost, relayDuplicates: relay.relayDuplicates, directLost: relay.directLost }).toEqual({
      relayLost: 0,
      relayDuplicates: 0,
      directLost: 0,
    });
  }, 120_000);

  it('reads through the gateway and straight from the driver service without errors', async () => {
    gateway = await runGatewayBench({ concurrency: 4, durationMs: 1_000, warmupMs: 200, log });
    expect(gateway.gatewayRequests).toBeGreaterThan(0);
    expect(gateway.directRequests).toBeGreaterThan(0);
    expect(gateway.gatewayRatio).toBeGreaterThan(0);
    expect({ gatewayErrors: gateway.gatewayErrors, directErrors: gateway.directErrors }).toEqual({ gatewayErrors: 0, directErrors: 0 });
  }, 120_000);

  it('sums the parts up in one JSON line with every headline figure', () => {
    const summary = JSON.parse(JSON.stringify(microBenchSummary(consume, relay, gateway))) as Record<string, unknown>;
    for (const key of [
      'consumeRatio',
      'runtimePerSecond',
      'rawPerSecond',
      'relayLagP50Ms',
      'relayLagP99Ms',
      'relayRatePerSecond',
      'relayLost',
      'gatewayRatio',
      'gatewayPerSecond',
      'directPerSecond',
    ]) {
      expect(typeof summary[key]).toBe('number');
    }
    expect(summary.relayLost).toBe(0);
    expect(microBenchSummary().consumeRatio).toBeNull();
  });
});

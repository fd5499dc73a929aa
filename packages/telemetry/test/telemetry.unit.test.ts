import { trace } from '@opentelemetry/api';
import { startTelemetry, tracingConfigured } from '../src';

describe('telemetry start-up', () => {
  it('is off unless an exporter is configured the standard way', () => {
    expect(tracingConfigured({})).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_SDK_DISABLED: 'true' })).toBe(false);
    expect(tracingConfigured({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' })).toBe(false);
    expect(startTelemetry('quiet', {}).enabled).toBe(false);
  });

  it('starts and shuts down within two seconds even when no collector answers', async () => {
    const env: NodeJS.ProcessEnv = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', // nothing listens on the discard port
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    Object.assign(process.env, env);
    const started = Date.now();
    const telemetry = startTelemetry('probe', process.env);
    expect(telemetry.enabled).toBe(true);
    trace.getTracer('test').startSpan('unexported').end();
    await telemetry.shutdown();
    expect(Date.now() - started).toBeLessThan(2_500);
  });
});

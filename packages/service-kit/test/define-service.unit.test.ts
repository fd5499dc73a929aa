import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { metricValue, parseMetrics } from '@onboarding/test-infra';
import { AppError, ConfigError, createLogger, defineService, listenEnv, route, type ServiceComponent } from '../src';

const entry = { name: 'probe-service', port: 18099, routes: [] } as const;
const logger = createLogger('probe-service', 'silent');

/** Records what the chassis does with the parts it is given. */
function recordingService() {
  const events: string[] = [];
  let storeUp = true;
  let brokerUp = true;
  const component = (name: string): ServiceComponent => ({
    name,
    checks: name === 'first' ? { store: () => storeUp } : undefined,
    observed: name === 'first' ? { broker: () => brokerUp } : undefined,
    start: async () => void events.push(`start ${name}`),
    stop: async () => void events.push(`stop ${name}`),
  });
  const definition = defineService({
    entry,
    env: Type.Object({ ...listenEnv(entry), GREETING: Type.String({ default: 'hello' }), SHOUT: Type.Boolean({ default: false }) }),
    checkConfig: (config) => (config.SHOUT && config.GREETING === 'hello' ? ['GREETING: say something to shout'] : []),
    compose: ({ config }) => ({
      routes: [
        route(async (app: FastifyInstance, options: { word: string }) => void app.get('/greeting', async () => ({ word: options.word })), {
          word: config.GREETING,
        }),
      ],
      components: [component('first'), component('second')],
      workers: [{ start: () => void events.push('start worker'), stop: async () => void events.push('stop worker') }],
      onStop: async () => void events.push('onStop'),
      expose: { events },
    }),
  });
  return { definition, events, setStore: (up: boolean) => (storeUp = up), setBroker: (up: boolean) => (brokerUp = up) };
}

describe('defineService', () => {
  it('starts components in order, then workers, then listens; stops in reverse after HTTP closed', async () => {
    const { definition, events } = recordingService();
    const running = await definition.start(definition.loadConfig({ PORT: '0' }), { logger });
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${running.url}/greeting`)).json()).toEqual({ word: 'hello' });
    expect(events).toEqual(['start first', 'start second', 'start worker']);
    expect(running.parts.events).toBe(events);
    await running.stop();
    expect(events.slice(3)).toEqual(['stop worker', 'stop second', 'stop first', 'onStop']);
    await expect(fetch(`${running.url}/greeting`)).rejects.toThrow();
  });

  it("derives readiness from the components' checks, shows what they observe as details, and serves metrics", async () => {
    const { definition, setStore, setBroker } = recordingService();
    const running = await definition.start(definition.loadConfig({ PORT: '0' }), { logger });
    const readiness = async () => {
      const response = await fetch(`${running.url}/readyz`);
      return { status: response.status, body: await response.json() };
    };
    try {
      expect(await readiness()).toEqual({
        status: 200,
        body: { status: 'ready', service: 'probe-service', checks: { store: 'up' }, details: { broker: 'up' } },
      });
      // An observed dependency down leaves the service ready (it can still serve HTTP), and says so.
      setBroker(false);
      expect(await readiness()).toMatchObject({ status: 200, body: { status: 'degraded', checks: { store: 'up' }, details: { broker: 'down' } } });
      setStore(false);
      expect(await readiness()).toMatchObject({ status: 503, body: { status: 'unready', checks: { store: 'down' } } });
      expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${running.url}/metrics`)).text()).toContain('service="probe-service"');
    } finally {
      await running.stop();
    }
  });

  it('counts requests and their durations by method, route pattern and status, never by the URL asked for', async () => {
    const things = defineService({
      entry,
      env: Type.Object({ ...listenEnv(entry) }),
      compose: () => ({
        routes: [
          route(async (app: FastifyInstance) => {
            app.get<{ Params: { id: string } }>('/things/:id', async (request) => {
              if (request.params.id === 'missing') throw AppError.notFound('no such thing');
              return { id: request.params.id };
            });
          }, {}),
        ],
      }),
    });
    const running = await things.start(things.loadConfig({ PORT: '0' }), { logger });
    try {
      for (const path of ['/things/ada.lovelace@example.com', '/things/42', '/things/missing', '/no/such/path?email=ada@example.com']) {
        await (await fetch(`${running.url}${path}`)).text();
      }
      const scraped = await (await fetch(`${running.url}/metrics`)).text();
      const samples = parseMetrics(scraped);
      const requests = (route: string, status: string) =>
        metricValue(samples, 'http_requests_total', { service: 'probe-service', method: 'GET', route, status });
      expect(requests('/things/:id', '200')).toBe(2);
      expect(requests('/things/:id', '404')).toBe(1);
      expect(requests('unmatched', '404')).toBe(1);
      expect(metricValue(samples, 'http_request_duration_seconds_count', { route: '/things/:id', status: '200' })).toBe(2);
      expect(metricValue(samples, 'http_request_duration_seconds_bucket', { route: '/things/:id', status: '200', le: '+Inf' })).toBe(2);
      // Neither the ids nor the query strings asked for end up in a label.
      expect(scraped).not.toContain('example.com');
      expect(scraped).not.toContain('/things/42');
    } finally {
      await running.stop();
    }
  });

  it('closes the parts it composed when set-up fails before the service runs', async () => {
    const events: string[] = [];
    const failing = defineService({
      entry,
      env: Type.Object({ ...listenEnv(entry) }),
      compose: () => ({
        routes: [
          () => {
            throw new Error('a plugin refused its options');
          },
        ],
        components: [{ name: 'broker', start: async () => void events.push('start'), stop: async () => void events.push('stop broker') }],
        onStop: async () => void events.push('onStop'),
      }),
    });
    await expect(failing.start(failing.loadConfig({ PORT: '0' }), { logger })).rejects.toThrow('a plugin refused its options');
    expect(events).toEqual(['stop broker', 'onStop']);
  });

  it('reads PORT with the default from the service list, and reports cross-field problems as ConfigError', () => {
    const { definition } = recordingService();
    expect(definition.loadConfig({}).PORT).toBe(18099);
    expect(() => definition.loadConfig({ SHOUT: 'true' })).toThrow(ConfigError);
    expect(() => definition.loadConfig({ SHOUT: 'true' })).toThrow(/GREETING: say something to shout/);
    expect(definition.loadConfig({ SHOUT: 'true', GREETING: 'HEY' }).GREETING).toBe('HEY');
  });
});

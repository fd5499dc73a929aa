import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { DriverRegisteredV1 } from '@onboarding/contracts';
import { EventProbe, eventually, isolatedEnvironment, proxyFor } from '@onboarding/test-infra';
import { Broker, DOMAIN_EXCHANGE, OutboxRelay, addToOutbox } from '../src';
import { sampleRegistration } from './sample-registration';
import { ormWithOutbox } from './fixtures/outbox-database';

const SCHEMA = 'relay_outage';
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

it('keeps publishing through repeated broker outages while events keep being written', async () => {
  const environment = await isolatedEnvironment('relay-outage');
  const orm = await ormWithOutbox(environment.databaseUrl, SCHEMA);
  const proxy = await proxyFor(environment.amqpUrl);
  const broker = new Broker({ url: proxy.rewrite(environment.amqpUrl), connectionName: 'relay', logger });
  await broker.waitUntilConnected(10_000);
  const probe = await EventProbe.attach(environment.amqpUrl, DOMAIN_EXCHANGE);
  const relay = new OutboxRelay({ databaseUrl: environment.databaseUrl, schema: SCHEMA, broker, logger, batchSize: 20 });
  relay.start();
  const ids = new Set<string>();
  try {
    const deadline = Date.now() + 8_000;
    let cuts = 0;
    for (let tick = 0; Date.now() < deadline && tick < 10_000; tick += 1) {
      const em = orm.em.fork();
      for (let i = 0; i < 5; i += 1) {
        const driverId = randomUUID();
        const event = addToOutbox(em, DriverRegisteredV1, sampleRegistration(driverId), {
          source: 'test',
          subject: driverId,
          correlationId: driverId,
        });
        ids.add(event.id);
      }
      await em.flush();
      if (tick % 40 === 20) {
        proxy.cut();
        cuts += 1;
        setTimeout(() => proxy.restore(), 700 + cuts * 200);
      }
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    proxy.restore();
    await eventually(() => new Set(probe.received.map((message) => String(message.body.id))).size >= ids.size, {
      timeoutMs: 60_000,
      description: `all ${ids.size} events published`,
    });
    const published = new Set(probe.received.map((message) => String(message.body.id)));
    expect([...ids].filter((id) => !published.has(id))).toEqual([]);
    expect(cuts).toBeGreaterThanOrEqual(3);
  } finally {
    await relay.stop();
    await broker.close();
    await probe.close();
    await proxy.stop();
    await orm.close();
    await environment.drop();
  }
}, 120_000);

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { service } from '@onboarding/contracts';
import { driverService } from '@onboarding/driver';
import { identityService } from '@onboarding/identity';
import { createLogger, type RunningService } from '@onboarding/service-kit';
import { applyBrokerUsers, asUser, createTestDatabase, createTestVhost, type BrokerDefinitions } from '@onboarding/test-infra';

const definitions = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'deploy', 'base', 'rabbitmq', 'definitions.json'), 'utf8'),
) as BrokerDefinitions;

describe('least privilege on the broker (deploy/rabbitmq/definitions.json)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let vhost: Awaited<ReturnType<typeof createTestVhost>>;
  let driver: RunningService<unknown>;
  let identity: RunningService<unknown>;

  beforeAll(async () => {
    [database, vhost] = await Promise.all([createTestDatabase('permissions'), createTestVhost('permissions')]);
    await applyBrokerUsers(vhost.name, definitions, ['driver', 'identity']);
    const logger = createLogger('permissions-test', 'silent');
    driver = await driverService.start(
      driverService.loadConfig({ DATABASE_URL: database.url, AMQP_URL: asUser(vhost.url, 'driver', 'driver'), PORT: '0' }),
      { logger },
    );
    identity = await identityService.start(
      identityService.loadConfig({ DATABASE_URL: database.url, AMQP_URL: asUser(vhost.url, 'identity', 'identity'), PORT: '0' }),
      { logger },
    );
  });

  afterAll(async () => {
    await identity?.stop();
    await driver?.stop();
    await Promise.allSettled([database?.drop(), vhost?.drop()]);
  });

  it('lets each service declare and consume its own queues with its own user', async () => {
    for (const app of [driver, identity]) {
      const ready = (await (await fetch(`${app.url}/readyz`)).json()) as { details: Record<string, string> };
      expect(ready.details).toMatchObject({ broker: 'up', consumer: 'up' });
    }
  });

  it("refuses identity's user access to the driver service's queue", async () => {
    const connection = await amqplib.connect(asUser(vhost.url, 'identity', 'identity'));
    connection.on('error', () => undefined);
    try {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await expect(channel.consume(service('driver').queue, () => undefined)).rejects.toThrow(/ACCESS_REFUSED/);
    } finally {
      await connection.close().catch(() => undefined);
    }
  });

  it("refuses the driver service's user declaring a queue that is not its own", async () => {
    const connection = await amqplib.connect(asUser(vhost.url, 'driver', 'driver'));
    connection.on('error', () => undefined);
    try {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await expect(channel.assertQueue('mailer.events.sneaky', { durable: true })).rejects.toThrow(/ACCESS_REFUSED/);
    } finally {
      await connection.close().catch(() => undefined);
    }
  });
});

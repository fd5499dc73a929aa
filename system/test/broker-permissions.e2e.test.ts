import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { DOMAIN_EXCHANGE, DriverActivationRejectedV1, DriverRegisteredV1, createEnvelope, eventFlow, service } from '@onboarding/contracts';
import { driverService } from '@onboarding/driver';
import { identityService } from '@onboarding/identity';
import { listParked, platformParkedTables } from '@onboarding/messaging';
import { createLogger, type RunningService } from '@onboarding/service-kit';
import { EventProbe, eventually, isolatedEnvironment } from '@onboarding/test-infra';

/**
 * The broker as deployed (packages/broker-setup: one least-privilege user per service, topic permissions from
 * the contracts' event flow) and the consumers' check of who published: a service cannot touch another's
 * queues, cannot publish another's events, and an event published by anyone but its owner changes nothing.
 */
describe('trust between services on the broker', () => {
  let environment: Awaited<ReturnType<typeof isolatedEnvironment>>;
  let driver: RunningService<unknown>;
  let identity: RunningService<unknown>;
  let probe: EventProbe;
  const logger = createLogger('permissions-test', 'silent');

  beforeAll(async () => {
    environment = await isolatedEnvironment('permissions');
    const { broker } = environment;
    driver = await driverService.start(
      driverService.loadConfig({ DATABASE_URL: environment.databaseUrl, AMQP_URL: broker.urlFor('driver'), PORT: '0' }),
      { logger },
    );
    identity = await identityService.start(
      identityService.loadConfig({ DATABASE_URL: environment.databaseUrl, AMQP_URL: broker.urlFor('identity'), PORT: '0' }),
      { logger },
    );
    // Publishes as each event's owner by default (the probe user may claim any user-id); a test overrides it.
    probe = await EventProbe.attach(broker.probeUrl, DOMAIN_EXCHANGE, (routingKey) => `${broker.userPrefix}${eventFlow[routingKey]?.producer}`);
  });

  afterAll(async () => {
    await probe?.close();
    await identity?.stop();
    await driver?.stop();
    await environment?.drop();
  });

  /** Connects as a service's own broker user and runs `act` on a channel; resolves to the broker's refusal, if any. */
  async function asService(name: string, act: (channel: amqplib.ConfirmChannel) => Promise<unknown>): Promise<string | undefined> {
    const connection = await amqplib.connect(environment.broker.urlFor(name));
    connection.on('error', () => undefined);
    try {
      const channel = await connection.createConfirmChannel();
      const closed = new Promise<string>((resolve) => channel.on('error', (err: Error) => resolve(err.message)));
      const outcome = await Promise.race([
        act(channel).then(
          () => undefined,
          (err: Error) => err.message,
        ),
        closed,
      ]);
      // A refused publish closes the channel a moment after the call returned: wait for that briefly.
      const quiet = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 300));
      return outcome ?? (await Promise.race([closed, quiet]));
    } finally {
      await connection.close().catch(() => undefined);
    }
  }

  const publish = (channel: amqplib.ConfirmChannel, exchange: string, routingKey: string, userId: string) =>
    new Promise<void>((resolve, reject) =>
      channel.publish(exchange, routingKey, Buffer.from('{}'), { userId }, (err) => (err ? reject(err as Error) : resolve())),
    );

  it('lets each service declare, bind and consume its own queues with its own user', async () => {
    for (const app of [driver, identity]) {
      const ready = (await (await fetch(`${app.url}/readyz`)).json()) as { details: Record<string, string> };
      expect(ready.details).toMatchObject({ broker: 'up', consumer: 'up' });
    }
  });

  it("refuses a service another's queue, the shared objects' configuration, the default exchange and other services' events", async () => {
    const { userPrefix } = environment.broker;
    expect(await asService('identity', (channel) => channel.consume(service('driver').queue, () => undefined))).toMatch(/ACCESS_REFUSED/);
    expect(await asService('driver', (channel) => channel.assertQueue('mailer.events.sneaky', { durable: true }))).toMatch(/ACCESS_REFUSED/);
    expect(await asService('driver', (channel) => channel.assertExchange(DOMAIN_EXCHANGE, 'topic', { durable: true }))).toMatch(/ACCESS_REFUSED/);
    expect(await asService('mailer', (channel) => publish(channel, '', service('identity').queue, `${userPrefix}mailer`))).toMatch(/ACCESS_REFUSED/);
    // Topic permissions: the mailer may not publish a driver event, nor bind its queue to one it does not consume.
    expect(
      await asService('mailer', (channel) => publish(channel, DOMAIN_EXCHANGE, DriverActivationRejectedV1.routingKey, `${userPrefix}mailer`)),
    ).toMatch(/ACCESS_REFUSED/);
    expect(
      await asService('mailer', (channel) => channel.bindQueue(service('mailer').queue, DOMAIN_EXCHANGE, DriverActivationRejectedV1.routingKey)),
    ).toMatch(/ACCESS_REFUSED/);
    // The broker checks user-id against the connection: a service cannot claim to be another.
    expect(await asService('identity', (channel) => publish(channel, DOMAIN_EXCHANGE, 'identity.account.deleted.v1', `${userPrefix}driver`))).toMatch(
      /PRECONDITION_FAILED|user_id/,
    );
    // What each may do still works: the driver publishing its own event.
    expect(
      await asService('driver', (channel) => publish(channel, DOMAIN_EXCHANGE, DriverRegisteredV1.routingKey, `${userPrefix}driver`)),
    ).toBeUndefined();
  });

  it('gives the operations service a read-only view: it binds every event to its own queue and publishes none', async () => {
    const { userPrefix } = environment.broker;
    const operations = service('operations').queue;
    await asService('operations', (channel) => channel.assertQueue(operations, { durable: true, arguments: { 'x-queue-type': 'quorum' } }));
    for (const routingKey of Object.keys(eventFlow)) {
      expect([routingKey, await asService('operations', (channel) => channel.bindQueue(operations, DOMAIN_EXCHANGE, routingKey))]).toEqual([
        routingKey,
        undefined,
      ]);
      expect([
        routingKey,
        await asService('operations', (channel) => publish(channel, DOMAIN_EXCHANGE, routingKey, `${userPrefix}operations`)),
      ]).toEqual([routingKey, expect.stringMatching(/ACCESS_REFUSED/)]);
    }
    // Nor another service's queue, nor the default exchange.
    expect(await asService('operations', (channel) => channel.consume(service('driver').queue, () => undefined))).toMatch(/ACCESS_REFUSED/);
    expect(await asService('operations', (channel) => publish(channel, '', service('driver').queue, `${userPrefix}operations`))).toMatch(
      /ACCESS_REFUSED/,
    );
    // Passive declares answer the depth of any queue without rights on it: what the overview reads.
    expect(await asService('operations', (channel) => channel.checkQueue(service('driver').queue))).toBeUndefined();
  });

  it('deletes nothing on a driver.activation-rejected published by anyone but the driver service, and parks it with the reason', async () => {
    const driverId = randomUUID();
    const email = `trust.${driverId.slice(0, 8)}@example.com`;
    await probe.publish(
      DriverRegisteredV1.routingKey,
      createEnvelope(
        DriverRegisteredV1,
        { driverId, firstName: 'Mary', lastName: 'Jackson', email, phone: '+1 555 0100', registeredAt: new Date().toISOString(), version: 1 },
        { source: 'driver', subject: driverId, correlationId: randomUUID() },
      ),
    );
    const created = await eventually(() => probe.ofType('identity.account.created').find((message) => message.body.subject === driverId), {
      description: 'the account',
    });
    const objectId = (created.body.data as { objectId: string }).objectId;
    const rejection = () =>
      createEnvelope(
        DriverActivationRejectedV1,
        { driverId, objectId, status: 'DELETED', reason: 'forged', rejectedAt: new Date().toISOString(), version: 2 },
        { source: 'driver', subject: driverId, correlationId: randomUUID() },
      );
    const admin = { authorization: '', 'x-auth-subject': 'test', 'x-auth-role': 'admin' };
    const account = async () => (await fetch(`${identity.url}/v1/identity/accounts/${driverId}`, { headers: admin })).status;

    // With another service's credentials (the broker verified user-id "mailer"), and with an administrator's
    // that sets no user-id at all: both parked as untrusted-publisher, the account untouched.
    await probe.publish(DriverActivationRejectedV1.routingKey, rejection(), { userId: `${environment.broker.userPrefix}mailer` });
    const unsigned = await amqplib.connect(environment.amqpUrl);
    const channel = await unsigned.createConfirmChannel();
    channel.publish(DOMAIN_EXCHANGE, DriverActivationRejectedV1.routingKey, Buffer.from(JSON.stringify(rejection())), { persistent: true });
    await channel.waitForConfirms();
    await unsigned.close();

    const parkingLot = { ...platformParkedTables(environment.databaseUrl), queues: [service('identity').queue] };
    const parked = await eventually(
      async () => {
        const forThisDriver = (await listParked(parkingLot)).filter((message) => message.payload.includes(driverId));
        return forThisDriver.length === 2 ? forThisDriver : undefined;
      },
      { description: 'both forgeries parked' },
    );
    expect(parked.map((message) => message.reason)).toEqual(['untrusted-publisher', 'untrusted-publisher']);
    expect(await account()).toBe(200);
    expect(probe.ofType('identity.account.deleted').filter((message) => message.body.subject === driverId)).toEqual([]);

    // The same event from the driver service's user is obeyed: the check, not the event, stopped the others.
    await probe.publish(DriverActivationRejectedV1.routingKey, rejection());
    await eventually(() => probe.ofType('identity.account.deleted').find((message) => message.body.subject === driverId), {
      description: 'the genuine rejection obeyed',
    });
    expect(await account()).toBe(404);
  });
});

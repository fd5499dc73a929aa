import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { DriverActivatedV1, MailWelcomeSentV1, service } from '@onboarding/contracts';
import { ServiceMetrics, openDatabase } from '@onboarding/service-kit';
import { EventProbe, eventually, isolatedEnvironment } from '@onboarding/test-infra';
import { DOMAIN_EXCHANGE, handlerFor, messaging, messagingTables, outgoing, writeInOneStatement } from '../src';
import { messagingConfig, sampleActivation } from './mailer-messaging';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
/** The relay publishes only rows older than its grace period (3 s): an event seen well before came from the publisher. */
const WELL_BEFORE_THE_RELAY_MS = 1_500;

const welcomeSent = (driverId: string) =>
  outgoing(MailWelcomeSentV1, {
    driverId,
    messageId: `<welcome.${driverId}@onboarding.local>`,
    language: 'en',
    sentAt: new Date().toISOString(),
    attempts: 1,
  });

/**
 * One-statement commits bypass the ORM's commit events, which the publisher after commit listens to. Through the
 * whole messaging component (as the mailer runs it), a handler's `commitInOneStatement` and an HTTP-side
 * `writeInOneStatement` handed to `publishCommitted` must still be published at once, not by the relay's poll.
 */
it("publishes a handler's one-statement commit and an HTTP write handed to publishCommitted at once, not through the relay", async () => {
  const environment = await isolatedEnvironment('one-statement-publish');
  const probe = await EventProbe.attach(environment.broker.probeUrl, DOMAIN_EXCHANGE, () => `${environment.broker.userPrefix}driver`);
  const orm = await openDatabase({
    databaseUrl: environment.databaseUrl,
    schema: 'mailer',
    entities: [...messagingTables.entities],
    migrations: [...messagingTables.migrations],
    logger,
  });
  const committedAt = new Map<string, number>();
  const component = messaging(
    {
      entry: service('mailer'),
      config: messagingConfig(environment.databaseUrl, environment.broker.urlFor('mailer')),
      orm,
      schema: 'mailer',
      logger,
      metrics: new ServiceMetrics('mailer'),
    },
    {
      publishes: true,
      handlers: [
        handlerFor(DriverActivatedV1, async (event, context) => {
          const driverId = (event.data as { driverId: string }).driverId;
          await context.commitInOneStatement({ events: [{ event: welcomeSent(driverId), options: context.causedBy(driverId) }] });
          committedAt.set(driverId, Date.now());
        }),
      ],
    },
  );
  try {
    await component.start();
    const activated = sampleActivation();
    await probe.publish(DriverActivatedV1.routingKey, activated);
    const fromHandler = await eventually(() => probe.received.find((message) => message.routingKey === MailWelcomeSentV1.routingKey), {
      timeoutMs: 10_000,
      intervalMs: 5,
      description: 'the handler’s mail.welcome-sent',
    });
    const handlerLag = Date.now() - committedAt.get(activated.subject)!;

    const driverId = randomUUID();
    const written = Date.now();
    const rows = await writeInOneStatement(orm.em.fork(), 'mailer', {
      events: [{ event: welcomeSent(driverId), options: { source: 'mailer', subject: driverId, correlationId: randomUUID() } }],
    });
    component.publishCommitted(rows);
    await eventually(() => probe.received.some((message) => (message.body as { subject?: string }).subject === driverId), {
      timeoutMs: 10_000,
      intervalMs: 5,
      description: 'the written mail.welcome-sent',
    });
    const writeLag = Date.now() - written;
    console.log(`one-statement commits published after ${handlerLag} ms (handler) and ${writeLag} ms (HTTP write)`);
    expect((fromHandler.body as { subject?: string }).subject).toBe(activated.subject);
    expect(handlerLag).toBeLessThan(WELL_BEFORE_THE_RELAY_MS);
    expect(writeLag).toBeLessThan(WELL_BEFORE_THE_RELAY_MS);
  } finally {
    await component.stop();
    await orm.close();
    await probe.close();
    await environment.drop();
  }
}, 60_000);

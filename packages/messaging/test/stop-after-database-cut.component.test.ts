import pino from 'pino';
import { DriverActivatedV1, MailWelcomeSentV1, service } from '@onboarding/contracts';
import { ServiceMetrics, openDatabase } from '@onboarding/service-kit';
import { EventProbe, eventually, isolatedEnvironment, proxyFor } from '@onboarding/test-infra';
import { DOMAIN_EXCHANGE, addToOutbox, handlerFor, messaging, messagingTables } from '../src';
import { PgListener } from '../src/pg-listener';
import { messagingConfig, sampleActivation } from './mailer-messaging';

// Warnings kept in memory: a stop that overruns reports which of its steps was slow.
const warnings: string[] = [];
const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
const entry = service('mailer');
const STOP_BOUND_MS = 5_000;

/**
 * The whole messaging component (publisher after commit, relay, consumer, the retention purge) with its database
 * behind a TCP proxy that is cut, and stays cut, while messages are being handled: stop() must still return promptly.
 * It used to hang about a minute, now and then.
 */
it('stops within a bound after the database is cut for good, several times over', async () => {
  const environment = await isolatedEnvironment('messaging-stop');
  // Publishes as the driver service, which owns driver.activated.
  const probe = await EventProbe.attach(environment.broker.probeUrl, DOMAIN_EXCHANGE, () => `${environment.broker.userPrefix}driver`);
  const stopTimes: number[] = [];
  try {
    const rounds = [
      { cut: 'refused', waitMs: 0 },
      { cut: 'refused', waitMs: 1_500 },
      { cut: 'refused', waitMs: 4_000 },
      { cut: 'silent', waitMs: 0 },
      { cut: 'silent', waitMs: 2_000 },
    ] as const;
    for (const [round, { cut, waitMs }] of rounds.entries()) {
      const proxy = await proxyFor(environment.databaseUrl);
      const databaseUrl = proxy.rewrite(environment.databaseUrl);
      const orm = await openDatabase({
        databaseUrl,
        schema: 'mailer',
        entities: [...messagingTables.entities],
        migrations: [...messagingTables.migrations],
        logger,
      });
      let handled = 0;
      const component = messaging(
        {
          entry,
          config: messagingConfig(databaseUrl, environment.broker.urlFor('mailer')),
          orm,
          schema: 'mailer',
          logger,
          metrics: new ServiceMetrics('mailer'),
        },
        {
          publishes: true,
          handlers: [
            handlerFor(DriverActivatedV1, async (event, context) => {
              await context.commit(async (em) => {
                // Slow enough for deliveries to be in flight, with a transaction open, when the cut comes.
                await em.getConnection().execute('select pg_sleep(0.3)', [], 'all', em.getTransactionContext());
                // An event per message, so the publisher after commit has publishes and marks under way at the cut.
                addToOutbox(
                  em,
                  MailWelcomeSentV1,
                  { driverId: event.data.driverId, messageId: `<${event.id}@test>`, language: 'en', sentAt: new Date().toISOString(), attempts: 1 },
                  context.causedBy(event.data.driverId),
                );
              });
              handled += 1;
            }),
          ],
        },
      );
      try {
        await component.start();
        for (let i = 0; i < 60 + round; i += 1) await probe.publish(DriverActivatedV1.routingKey, sampleActivation());
        await eventually(() => handled >= 3, { timeoutMs: 15_000, description: 'messages being handled' });
        if (cut === 'refused') proxy.cut();
        else proxy.blackhole();
        await new Promise((resolve) => setTimeout(resolve, waitMs)); // stopped at once, while pausing, while paused
        const started = Date.now();
        await Promise.race([
          component.stop(),
          new Promise((_resolve, reject) =>
            setTimeout(
              () => reject(new Error(`stop() still running after ${STOP_BOUND_MS * 4} ms; its warnings:\n${warnings.join('')}`)),
              STOP_BOUND_MS * 4,
            ).unref(),
          ),
        ]);
        stopTimes.push(Date.now() - started);
        const slowSteps = warnings.filter((line) => line.includes('stop step')).map((line) => JSON.parse(line) as { step: string; ms: number });
        console.log(`stop after a ${cut} cut and ${waitMs} ms: ${stopTimes.at(-1)} ms (${slowSteps.map((s) => `${s.step} ${s.ms} ms`).join(', ')})`);
        expect(warnings.filter((line) => line.includes('did not finish'))).toEqual([]);
        warnings.length = 0;
      } finally {
        await proxy.stop();
        // The ORM is the chassis's to close, not the messaging component's; bounded here so a slow close does not hide the result.
        await Promise.race([orm.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      }
    }
    console.log(`messaging stop after a database cut: ${stopTimes.join(', ')} ms`);
    for (const ms of stopTimes) expect(ms).toBeLessThan(STOP_BOUND_MS);
  } finally {
    await probe.close();
    await environment.drop();
  }
}, 180_000);

/**
 * pg never settles connect() when end() comes while it is still connecting, so a listener stopped during a
 * (re)connect used to wait on its loop for ever (now cut off after a grace period). Stopped while its connect is
 * unanswered, its loop ends as soon as the connection closes: well within the grace period (1 s without the fix).
 */
it('a LISTEN connection stopped while it connects stops within its grace period', async () => {
  const environment = await isolatedEnvironment('listener-stop');
  const proxy = await proxyFor(environment.databaseUrl);
  try {
    proxy.blackhole(); // the connection is accepted and never answered
    const listener = new PgListener({
      databaseUrl: proxy.rewrite(environment.databaseUrl),
      channel: 'stop_test',
      logger,
      onNotification: () => undefined,
      failureMessage: 'listener failed',
    });
    listener.start();
    await new Promise((resolve) => setTimeout(resolve, 300)); // connecting by now
    const started = Date.now();
    await listener.stop(1_000);
    const ms = Date.now() - started;
    console.log(`listener stopped while connecting in ${ms} ms`);
    expect(ms).toBeLessThan(600);
  } finally {
    await proxy.stop();
    await environment.drop();
  }
}, 60_000);

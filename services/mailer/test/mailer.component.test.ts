import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import pg from 'pg';
import { DriverActivatedV1, DriverErasedV1, DriverRegisteredV1, createEnvelope, service as serviceEntry, type Language } from '@onboarding/contracts';
import { DOMAIN_EXCHANGE, parkingQueueName } from '@onboarding/messaging';
import { MailCatcher, componentUnderTest, eventually, freePort } from '@onboarding/test-infra';
import { mailerService } from '../src';

let smtp: MailCatcher;
const service = componentUnderTest(mailerService, {
  probeExchange: DOMAIN_EXCHANGE,
  env: async () => {
    // The SMTP relay starts late, in the first test: the mailer must ride out its absence.
    const smtpPort = await freePort();
    smtp = new MailCatcher({ port: smtpPort });
    return { SMTP_URL: `smtp://127.0.0.1:${smtpPort}` };
  },
});
afterAll(() => smtp?.stop());

/** Without a language, the activation is what a driver service from before `preferredLanguage` publishes. */
function activated(preferredLanguage?: Language) {
  const driverId = randomUUID();
  return createEnvelope(
    DriverActivatedV1,
    {
      driverId,
      b2cObjectId: randomUUID(),
      firstName: 'Mary',
      lastName: 'Jackson',
      email: `mary.${driverId.slice(0, 8)}@example.com`,
      phone: '+1 555 0142',
      ...(preferredLanguage ? { preferredLanguage } : {}),
      activatedAt: new Date().toISOString(),
      version: 2,
    },
    { source: 'driver', subject: driverId, correlationId: randomUUID() },
  );
}

async function mailLog(driverId: string) {
  const client = new pg.Client({ connectionString: service.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query('select status, attempts from mailer.sent_mail where driver_id = $1', [driverId]);
    return rows as { status: string; attempts: number }[];
  } finally {
    await client.end();
  }
}

describe('mailer service', () => {
  it('keeps retrying while the SMTP relay is down and sends once it is up', async () => {
    const event = activated();
    await service.probe.publish(DriverActivatedV1.routingKey, event);
    await eventually(async () => (await mailLog(event.data.driverId))[0]?.status === 'SENDING', {
      description: 'a claimed send while SMTP is down',
    });
    await smtp.start();
    await eventually(() => smtp.mailsTo(event.data.email).length === 1, { timeoutMs: 20_000, description: 'the delayed welcome mail' });
    await eventually(async () => (await mailLog(event.data.driverId))[0]?.status === 'SENT', { description: 'SENT in the log' });
  });

  it('sends exactly one welcome mail per driver, however often the activation arrives', async () => {
    const event = activated();
    await service.probe.publish(DriverActivatedV1.routingKey, event);
    await service.probe.publish(DriverActivatedV1.routingKey, event);
    await service.probe.publish(DriverActivatedV1.routingKey, { ...event, id: randomUUID() });
    await eventually(() => smtp.mailsTo(event.data.email).length === 1, { description: 'the welcome mail' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const mails = smtp.mailsTo(event.data.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]?.raw).toMatch(/Subject: Welcome to the fleet, Mary!/);
    expect(mails[0]?.raw).toContain(`Message-ID: <welcome.${event.data.driverId}@onboarding.local>`);
    expect(await mailLog(event.data.driverId)).toEqual([{ status: 'SENT', attempts: 1 }]);
  });

  it('writes the welcome mail in the language the activation carries, and in the default one when it carries none', async () => {
    const french = activated('fr');
    const german = activated('de');
    const unstated = activated();
    for (const event of [french, german, unstated]) await service.probe.publish(DriverActivatedV1.routingKey, event);
    await eventually(() => [french, german, unstated].every((event) => smtp.mailsTo(event.data.email).length === 1), {
      description: 'the three welcome mails',
    });
    expect(smtp.mailsTo(french.data.email)[0]?.subject).toBe('Bienvenue dans la flotte, Mary !');
    expect(smtp.mailsTo(german.data.email)[0]?.subject).toBe('Willkommen in der Flotte, Mary!');
    expect(smtp.mailsTo(unstated.data.email)[0]?.subject).toBe('Welcome to the fleet, Mary!');
  });

  it('no longer keeps a language table of its own (dropped by a migration)', async () => {
    const client = new pg.Client({ connectionString: service.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query(`select to_regclass('mailer.language_preference') as "table"`);
      expect(rows).toEqual([{ table: null }]);
    } finally {
      await client.end();
    }
  });

  it('removes the driver.registered binding an older mailer left on the broker, so those events no longer reach it', async () => {
    const queue = serviceEntry('mailer').queue;
    const connection = await amqplib.connect(service.amqpUrl);
    try {
      const channel = await connection.createChannel();
      const parked = async () => (await channel.checkQueue(parkingQueueName(queue))).messageCount;
      const parkedBefore = await parked();
      // What a 0.3 mailer declared: with the binding, a registration reaches the mailer, which has no handler for it.
      await channel.bindQueue(queue, DOMAIN_EXCHANGE, DriverRegisteredV1.routingKey);
      await service.probe.publish(DriverRegisteredV1.routingKey, { some: 'registration' });
      await eventually(async () => (await parked()) === parkedBefore + 1, { description: 'the registration parked as no-handler' });
      await service.startInstance(); // an upgraded instance declares its topology and removes the retired binding
      await service.probe.publish(DriverRegisteredV1.routingKey, { some: 'registration' });
      // Published after it on the same channel into the same queue: once its mail is out, a routed registration would be parked.
      const after = activated('en');
      await service.probe.publish(DriverActivatedV1.routingKey, after);
      await eventually(() => smtp.mailsTo(after.data.email).length === 1, { description: 'the later activation mailed' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await parked()).toBe(parkedBefore + 1);
    } finally {
      await connection.close();
    }
  });

  it('erases a driver: the mail log forgets the address, a later activation sends nothing, and the erasure is confirmed', async () => {
    const sent = activated();
    const never = activated();
    await service.probe.publish(DriverActivatedV1.routingKey, sent);
    await eventually(() => smtp.mailsTo(sent.data.email).length === 1, { description: 'welcome mail' });
    for (const event of [sent, never]) {
      const { driverId } = event.data;
      await service.probe.publish(
        DriverErasedV1.routingKey,
        createEnvelope(
          DriverErasedV1,
          { driverId, erasedAt: new Date().toISOString() },
          { source: 'driver', subject: driverId, correlationId: randomUUID() },
        ),
      );
      await eventually(() => service.probe.ofType('mailer.driver-data.erased').find((m) => m.body.subject === driverId), {
        description: 'erasure confirmed',
      });
    }
    const client = new pg.Client({ connectionString: service.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query('select recipient, status from mailer.sent_mail where driver_id = any($1)', [
        [sent.data.driverId, never.data.driverId],
      ]);
      expect(rows).toEqual([
        { recipient: '', status: 'ERASED' },
        { recipient: '', status: 'ERASED' },
      ]);
    } finally {
      await client.end();
    }
    // The activation of the driver erased before its mail went out arrives late: nothing is sent.
    await service.probe.publish(DriverActivatedV1.routingKey, never);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(smtp.mailsTo(never.data.email)).toEqual([]);
  });

  it('sends one mail per driver with two mailer instances competing for duplicated events', async () => {
    const second = await service.startInstance();
    try {
      const events = Array.from({ length: 20 }, () => activated());
      for (const event of events) {
        await service.probe.publish(DriverActivatedV1.routingKey, event);
        await service.probe.publish(DriverActivatedV1.routingKey, { ...event, id: randomUUID() });
      }
      for (const event of events) {
        await eventually(() => smtp.mailsTo(event.data.email).length >= 1, { description: 'each welcome mail' });
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(events.filter((event) => smtp.mailsTo(event.data.email).length !== 1)).toEqual([]);
    } finally {
      await second.stop();
    }
  });
});

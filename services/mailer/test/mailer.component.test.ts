import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import pg from 'pg';
import {
  DriverActivatedV1,
  DriverErasedV1,
  DriverRegisteredV1,
  MailWelcomeSentV1,
  createEnvelope,
  service as serviceEntry,
  type Language,
} from '@onboarding/contracts';
import { DOMAIN_EXCHANGE, listParked, platformParkedTables } from '@onboarding/messaging';
import { MailCatcher, componentUnderTest, eventually, freePort } from '@onboarding/test-infra';
import { mailerService } from '../src';

let smtp: MailCatcher;
const service = componentUnderTest(mailerService, {
  probeExchange: DOMAIN_EXCHANGE,
  env: async () => {
    // The SMTP relay starts late, in the first test: the mailer must ride out its absence.
    const smtpPort = await freePort();
    smtp = new MailCatcher({
      port: smtpPort,
      // As a relay answers an unknown mailbox for good, and a full one for now; both replies name the address.
      refuseRecipient: (address) =>
        address.startsWith('nobody.')
          ? { code: 550, message: `5.1.1 <${address}>: Recipient address rejected: User unknown` }
          : address.startsWith('full.')
            ? { code: 452, message: `4.2.2 <${address}>: Mailbox full` }
            : undefined,
    });
    return { SMTP_URL: `smtp://127.0.0.1:${smtpPort}` };
  },
});
afterAll(() => smtp?.stop());

/** Without a language, the activation is what a driver service from before `preferredLanguage` publishes. */
function activated(preferredLanguage?: Language, mailbox = 'mary') {
  const driverId = randomUUID();
  return createEnvelope(
    DriverActivatedV1,
    {
      driverId,
      b2cObjectId: randomUUID(),
      firstName: 'Mary',
      lastName: 'Jackson',
      email: `${mailbox}.${driverId.slice(0, 8)}@example.com`,
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

  it('parks a mail whose recipient the relay refuses for good, without the address, and never counts refused recipients against the relay', async () => {
    // Refusals first, more than the breaker's volume threshold: were they counted, it would open and hold every mail.
    const full = Array.from({ length: 6 }, () => activated(undefined, 'full'));
    const unknown = Array.from({ length: 4 }, () => activated(undefined, 'nobody'));
    for (const event of [...full, ...unknown]) await service.probe.publish(DriverActivatedV1.routingKey, event);
    const queue = serviceEntry('mailer').queue;
    const parked = await eventually(
      async () => {
        const rows = (await listParked({ ...platformParkedTables(service.databaseUrl), queues: [queue] })).filter((row) =>
          unknown.some((event) => event.id === row.messageId),
        );
        return rows.length >= unknown.length ? rows : undefined;
      },
      { timeoutMs: 20_000, description: 'the refused recipients parked' },
    );
    expect(parked.map((row) => row.messageId).sort()).toEqual(unknown.map((event) => event.id).sort());
    for (const row of parked) {
      expect(row.reason).toBe('permanent-failure');
      expect(row.error).toContain('550 5.1.1');
      expect(row.error).not.toMatch(/@|nobody/);
    }
    const readiness = (await (await fetch(`${service.baseUrl}/readyz`)).json()) as { details: { breakers: Record<string, string> } };
    expect(readiness.details.breakers.smtp).toBe('closed');

    // Another driver's mail goes out at once, not after the breaker's reset time.
    const good = activated();
    await service.probe.publish(DriverActivatedV1.routingKey, good);
    await eventually(() => smtp.mailsTo(good.data.email).length === 1, { timeoutMs: 5_000, description: 'the next welcome mail' });
    expect(smtp.mails.filter((mail) => mail.to.some((to) => /^(nobody|full)\./.test(to)))).toEqual([]);
  }, 40_000);

  it('sends exactly one welcome mail per driver, however often the activation arrives', async () => {
    const event = activated();
    await service.probe.publish(DriverActivatedV1.routingKey, event);
    await service.probe.publish(DriverActivatedV1.routingKey, event);
    await eventually(() => smtp.mailsTo(event.data.email).length === 1, { description: 'the welcome mail' });
    // A later copy under a new message id (republished by its producer): it must find the mail sent. Published after
    // the first is handled, so which copy caused mail.welcome-sent is not a race between concurrent deliveries.
    await service.probe.publish(DriverActivatedV1.routingKey, { ...event, id: randomUUID() });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const mails = smtp.mailsTo(event.data.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]?.raw).toMatch(/Subject: Welcome to the fleet, Mary!/);
    expect(mails[0]?.raw).toContain(`Message-ID: <welcome.${event.data.driverId}@onboarding.local>`);
    expect(await mailLog(event.data.driverId)).toEqual([{ status: 'SENT', attempts: 1 }]);

    // What it did, for the registration's timeline: one mail.welcome-sent, in the activation's saga, without the address.
    const sent = () => service.probe.ofType(MailWelcomeSentV1.type).filter((message) => message.body.subject === event.data.driverId);
    await eventually(() => sent().length === 1, { description: 'mail.welcome-sent' });
    expect(sent()[0]?.body).toMatchObject({
      correlationid: event.correlationid,
      causationid: event.id,
      data: { driverId: event.data.driverId, messageId: `<welcome.${event.data.driverId}@onboarding.local>`, language: 'en', attempts: 1 },
    });
    expect(JSON.stringify(sent()[0]?.body)).not.toContain(event.data.email);
    expect(sent()[0]?.properties.userId).toMatch(/mailer$/);
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
      const parked = async () => (await listParked({ ...platformParkedTables(service.databaseUrl), queues: [queue] })).length;
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

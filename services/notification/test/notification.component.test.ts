import { randomUUID } from 'node:crypto';
import {
  DriverActivatedV1,
  DriverErasedV1,
  DriverRegistrationFailedV1,
  NotificationAdminsNotifiedV1,
  createEnvelope,
  service as serviceEntry,
} from '@onboarding/contracts';
import { DOMAIN_EXCHANGE, listParked, platformParkedTables } from '@onboarding/messaging';
import fc from 'fast-check';
import { brokenEscapes, componentUnderTest, eventually, hostileCursors, hostileIds, queryValue } from '@onboarding/test-infra';
import { notificationService } from '../src';

const service = componentUnderTest(notificationService, {
  probeExchange: DOMAIN_EXCHANGE,
  env: { ADMIN_RECIPIENTS: 'ops@fleet.example, Chief@Fleet.example' },
});

interface Page {
  items: { id: string; type: string; driverId: string; recipient: string; message: string; readAt: string | null }[];
  nextCursor: string | null;
}

async function list(query = ''): Promise<{ status: number; body: Page & Record<string, unknown> }> {
  const response = await fetch(`${service.baseUrl}/v1/notifications${query}`);
  return { status: response.status, body: (await response.json()) as Page & Record<string, unknown> };
}

async function forDriver(driverId: string) {
  const { body } = await list('?limit=100');
  return body.items.filter((item) => item.driverId === driverId);
}

describe('notification service', () => {
  it('notifies every admin once when a driver is activated, however often the event arrives', async () => {
    const driverId = randomUUID();
    const event = createEnvelope(
      DriverActivatedV1,
      {
        driverId,
        b2cObjectId: 'object',
        firstName: 'Dorothy',
        lastName: 'Vaughan',
        email: 'dorothy@example.com',
        phone: '+1 555 0111',
        activatedAt: new Date().toISOString(),
        version: 2,
      },
      { source: 'driver', subject: driverId, correlationId: randomUUID() },
    );
    await service.probe.publish(DriverActivatedV1.routingKey, event);
    await service.probe.publish(DriverActivatedV1.routingKey, { ...event, id: randomUUID() });
    await eventually(async () => (await forDriver(driverId)).length === 2, { description: 'two notifications' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const items = await forDriver(driverId);
    expect(items.map((item) => item.recipient).sort()).toEqual(['chief@fleet.example', 'ops@fleet.example']);
    expect(items[0]).toMatchObject({ type: 'driver.activated', readAt: null, message: 'Driver Dorothy Vaughan is registered and active.' });

    // What it did, for the registration's timeline: one notification.admins-notified (the second copy stored
    // nothing new), naming the notifications, never the admins' addresses or the text.
    const told = () => service.probe.ofType(NotificationAdminsNotifiedV1.type).filter((message) => message.body.subject === driverId);
    await eventually(() => told().length === 1, { description: 'notification.admins-notified' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(told()).toHaveLength(1);
    expect(told()[0]?.body).toMatchObject({
      correlationid: event.correlationid,
      data: { driverId, notificationType: 'driver.activated', recipientCount: 2 },
    });
    expect((told()[0]?.body.data as { notificationIds: string[] }).notificationIds.sort()).toEqual(items.map((item) => item.id).sort());
    expect(JSON.stringify(told()[0]?.body)).not.toMatch(/fleet\.example|Dorothy/);
  });

  it('alerts the admins when a registration fails, with the reason', async () => {
    const driverId = randomUUID();
    await service.probe.publish(
      DriverRegistrationFailedV1.routingKey,
      createEnvelope(
        DriverRegistrationFailedV1,
        { driverId, firstName: 'Annie', lastName: 'Easley', reason: 'timeout', failedAt: new Date().toISOString(), version: 2 },
        { source: 'driver', subject: driverId, correlationId: randomUUID() },
      ),
    );
    const items = await eventually(
      async () => {
        const found = await forDriver(driverId);
        return found.length === 2 ? found : undefined;
      },
      { description: 'two alerts' },
    );
    expect(items.every((item) => item.type === 'driver.registration-failed' && item.message.includes('timeout'))).toBe(true);
  });

  it('pages newest first and filters by recipient; rejects bad paging input', async () => {
    const first = await list('?limit=1');
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await list(`?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.items[0]?.id).not.toBe(first.body.items[0]?.id);
    const onlyOps = await list('?limit=100&recipient=ops@fleet.example');
    expect(onlyOps.body.items.every((item) => item.recipient === 'ops@fleet.example')).toBe(true);
    expect((await list('?limit=1000')).status).toBe(400);
    expect((await list('?cursor=%%%')).status).toBe(400);
  });
});

describe('erasure', () => {
  it("deletes the erased driver's notifications and its parked messages, keeps everyone else's, and confirms", async () => {
    const drivers = [randomUUID(), randomUUID()];
    const invalid = new Map<string, string>();
    for (const driverId of drivers) {
      const data = {
        driverId,
        b2cObjectId: 'object',
        firstName: 'Katherine',
        lastName: 'Johnson',
        email: `k.${driverId.slice(0, 8)}@example.com`,
        phone: '+1 555 0199',
        activatedAt: new Date().toISOString(),
        version: 2,
      };
      const options = { source: 'driver', subject: driverId, correlationId: randomUUID() };
      await service.probe.publish(DriverActivatedV1.routingKey, createEnvelope(DriverActivatedV1, data, options));
      // Breaks the contract (no names) and quotes the address: parked.
      const broken = { ...createEnvelope(DriverActivatedV1, data, options), data: { driverId, email: data.email } };
      invalid.set(driverId, broken.id);
      await service.probe.publish(DriverActivatedV1.routingKey, broken, { messageId: broken.id });
    }
    const lot = { ...platformParkedTables(service.databaseUrl), queues: [serviceEntry('notification').queue] };
    const parkedIds = async () => (await listParked(lot)).map((message) => message.messageId);
    const keptPersonalData = async () => (await listParked(lot)).filter((message) => message.personalDataKept).map((message) => message.messageId);
    await eventually(async () => (await Promise.all(drivers.map(forDriver))).every((items) => items.length === 2), { description: 'notified' });
    await eventually(async () => (await parkedIds()).filter((id) => [...invalid.values()].includes(id)).length === 2, {
      description: 'both broken events parked',
    });

    const [erased, kept] = drivers as [string, string];
    await service.probe.publish(
      DriverErasedV1.routingKey,
      createEnvelope(
        DriverErasedV1,
        { driverId: erased, erasedAt: new Date().toISOString() },
        { source: 'driver', subject: erased, correlationId: randomUUID() },
      ),
    );
    const confirmed = await eventually(() => service.probe.ofType('notification.driver-data.erased').find((m) => m.body.subject === erased), {
      description: 'erasure confirmed',
    });
    expect(confirmed.body.data).toMatchObject({ driverId: erased, removedMessages: 1 });
    expect(await forDriver(erased)).toEqual([]);
    expect(await forDriver(kept)).toHaveLength(2);
    // Both parked rows stay (scrubbed); the erased driver's loses the personal data a replay would need.
    expect(await parkedIds()).toEqual(expect.arrayContaining([invalid.get(erased), invalid.get(kept)]));
    const withPersonalData = await keptPersonalData();
    expect(withPersonalData).not.toContain(invalid.get(erased));
    expect(withPersonalData).toContain(invalid.get(kept));
  });
});

describe('notifications under crafted ids, cursors and filters', () => {
  // Runs after the tests above stored notifications, so there is a real cursor to tamper with.
  it('never answers 5xx to any id, cursor or recipient filter (property-based)', async () => {
    const issued = (await list('?limit=1')).body.nextCursor!;
    const fields = JSON.parse(Buffer.from(issued, 'base64url').toString('utf8')) as unknown[];
    const ofDrivers = Buffer.from(JSON.stringify(fields.map((field) => (field === 'notifications' ? 'drivers' : field)))).toString('base64url');
    const foreign = await fetch(`${service.baseUrl}/v1/notifications?cursor=${ofDrivers}`);
    expect(foreign.status).toBe(400);
    expect(((await foreign.json()) as { type: string }).type).toBe('/problems/invalid-cursor');

    const recipients = fc.oneof(
      fc.emailAddress(),
      fc.emailAddress().map((address) => address.replace('@', '\u0000@')),
      fc.emailAddress().map((address) => `${'x'.repeat(300)}${address}`),
      hostileIds,
    );
    await fc.assert(
      fc.asyncProperty(hostileIds, fc.oneof(hostileCursors(issued, [ofDrivers]), brokenEscapes), recipients, async (id, cursor, recipient) => {
        const responses = [
          await fetch(`${service.baseUrl}/v1/notifications/${queryValue(id)}/read`, { method: 'POST' }),
          await fetch(`${service.baseUrl}/v1/notifications?limit=2&cursor=${cursor.startsWith('%') ? cursor : queryValue(cursor)}`),
          await fetch(`${service.baseUrl}/v1/notifications?limit=2&recipient=${queryValue(recipient)}`),
        ];
        for (const response of responses) {
          await response.body?.cancel();
          expect([200, 400, 404, 414]).toContain(response.status);
          if (response.status >= 400) expect(response.headers.get('content-type')).toContain('application/problem+json');
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('live notifications', () => {
  it('pushes each stored notification to Server-Sent Events subscribers, and marks notifications read', async () => {
    const controller = new AbortController();
    const response = await fetch(`${service.baseUrl}/v1/notifications/stream`, { signal: controller.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    // The body of a fetch() answer is a byte stream; the global fetch types leave its chunks untyped.
    const reader = response.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    const received: string[] = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        received.push(decoder.decode(value));
      }
    })();
    try {
      await eventually(() => received.join('').includes(': connected'), { description: 'the stream to open' });
      const driverId = randomUUID();
      await service.probe.publish(
        DriverActivatedV1.routingKey,
        createEnvelope(
          DriverActivatedV1,
          {
            driverId,
            b2cObjectId: 'object',
            firstName: 'Hedy',
            lastName: 'Lamarr',
            email: 'hedy@example.com',
            phone: '+1 555 0133',
            activatedAt: new Date().toISOString(),
            version: 2,
          },
          { source: 'driver', subject: driverId, correlationId: randomUUID() },
        ),
      );
      const events = await eventually(
        () => {
          const pushed = received
            .join('')
            .split('\n\n')
            .filter((chunk) => chunk.startsWith('id: '))
            .map((chunk) => JSON.parse(chunk.split('\ndata: ')[1]!) as { id: string; driverId: string; readAt: string | null });
          const mine = pushed.filter((event) => event.driverId === driverId);
          return mine.length === 2 ? mine : undefined; // one per admin recipient
        },
        { description: 'two live notifications' },
      );

      const read = await fetch(`${service.baseUrl}/v1/notifications/${events[0]!.id}/read`, { method: 'POST' });
      expect(read.status).toBe(200);
      const readBody = (await read.json()) as { readAt: string | null };
      expect(readBody.readAt).toEqual(expect.any(String));
      const again = (await (await fetch(`${service.baseUrl}/v1/notifications/${events[0]!.id}/read`, { method: 'POST' })).json()) as {
        readAt: string;
      };
      expect(again.readAt).toBe(readBody.readAt);
      expect((await fetch(`${service.baseUrl}/v1/notifications/${randomUUID()}/read`, { method: 'POST' })).status).toBe(404);
    } finally {
      controller.abort();
      await reading;
    }
  });
});

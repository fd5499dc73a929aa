import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import pg from 'pg';
import { DriverActivatedV1, createEnvelope } from '@onboarding/contracts';
import { DOMAIN_EXCHANGE } from '@onboarding/messaging';
import { componentUnderTest, eventually } from '@onboarding/test-infra';
import { notificationService } from '../src';

/**
 * The live stream against the real servers: resuming with Last-Event-ID, refusing malformed ids, the caps on open
 * streams, dropping a reader that does not read, and ending (not crashing) when its database connection dies.
 */
const service = componentUnderTest(notificationService, {
  probeExchange: DOMAIN_EXCHANGE,
  env: { STREAM_MAX_OPEN: '4', STREAM_MAX_PER_SUBJECT: '2', STREAM_BUFFER_BYTES: String(64 * 1024) },
});

interface StreamEvent {
  id: string;
  driverId: string;
}

/** An open stream: the events parsed so far, and whether the server ended it. */
async function openStream(headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(`${service.baseUrl}/v1/notifications/stream`, { headers, signal: controller.signal });
  const events: StreamEvent[] = [];
  let ended = false;
  let text = '';
  const reading = (async () => {
    if (response.status !== 200) return;
    // The body of a fetch() answer is a byte stream; the global fetch types leave its chunks untyped.
    const reader = response.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) break;
      text += decoder.decode(value, { stream: true });
      const blocks = text.split('\n\n');
      text = blocks.pop()!;
      for (const block of blocks) {
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id !== undefined && data !== undefined) events.push({ id, driverId: (JSON.parse(data) as { driverId: string }).driverId });
      }
    }
    ended = true;
  })();
  return {
    response,
    events,
    ended: () => ended,
    close: async () => {
      controller.abort();
      await reading;
    },
  };
}

async function activate(driverId: string): Promise<void> {
  const data = {
    driverId,
    b2cObjectId: 'object',
    firstName: 'Grace',
    lastName: 'Hopper',
    email: `g.${driverId.slice(0, 8)}@example.com`,
    phone: '+1 555 0100',
    activatedAt: new Date().toISOString(),
    version: 2,
  };
  await service.probe.publish(
    DriverActivatedV1.routingKey,
    createEnvelope(DriverActivatedV1, data, { source: 'driver', subject: driverId, correlationId: randomUUID() }),
  );
}

/** Runs `work` on a connection of its own to the service's database (as another instance would). */
async function withDatabase<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: service.databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Stores notifications straight into the service's tables, as another instance would. */
async function insertDirectly(count: number, messageBytes = 64): Promise<string[]> {
  return withDatabase(async (client) => {
    const { rows } = await client.query<{ driver_id: string }>(
      `insert into notification.notification (id, recipient_id, type, driver_id, message, created_at)
       select gen_random_uuid(), r.id, 'driver.activated', gen_random_uuid(), repeat('x', $2::int), now()
         from notification.recipient r, generate_series(1, $1::int)
       returning driver_id`,
      [count, messageBytes],
    );
    return rows.map((row) => row.driver_id);
  });
}

describe('live stream', () => {
  it('gives a reconnecting client exactly the notifications stored while it was away, in order', async () => {
    const first = await openStream();
    const seen = randomUUID();
    await activate(seen);
    await eventually(() => first.events.some((event) => event.driverId === seen), { description: 'the live notification' });
    const lastId = first.events[first.events.length - 1]!.id;
    await first.close();

    const missed = [randomUUID(), randomUUID(), randomUUID()];
    for (const driverId of missed) await activate(driverId);
    await eventually(
      async () => {
        const listed = (await (await fetch(`${service.baseUrl}/v1/notifications?limit=100`)).json()) as { items: { driverId: string }[] };
        return missed.every((driverId) => listed.items.some((item) => item.driverId === driverId));
      },
      { description: 'the missed notifications stored' },
    );

    const resumed = await openStream({ 'last-event-id': lastId });
    try {
      const live = randomUUID();
      await activate(live);
      await eventually(() => resumed.events.some((event) => event.driverId === live), { description: 'the next live notification' });
      // Exactly what was missed (in the order it was stored: the consumer may process the three events in any
      // order), then the live one: nothing lost, nothing seen twice.
      const driverIds = resumed.events.map((event) => event.driverId);
      expect(driverIds.slice(0, missed.length).sort()).toEqual([...missed].sort());
      expect(driverIds.slice(missed.length)).toEqual([live]);
      const ids = resumed.events.map((event) => BigInt(event.id));
      expect(ids.every((id, index) => id > BigInt(lastId) && (index === 0 || id > ids[index - 1]!))).toBe(true);
    } finally {
      await resumed.close();
    }
  });

  it('answers a malformed Last-Event-ID with 400 problem+json', async () => {
    for (const bad of ['abc', randomUUID(), '-1', '1'.repeat(19), '1.5', '0x10']) {
      const response = await fetch(`${service.baseUrl}/v1/notifications/stream`, {
        headers: { 'last-event-id': bad },
        signal: AbortSignal.timeout(5_000),
      });
      const body = await response.text();
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(JSON.parse(body)).toMatchObject({ status: 400, type: '/problems/invalid-last-event-id' });
    }
  });

  it('caps open streams per caller (429) and per instance (503), and frees a place when one closes', async () => {
    const as = (subject: string) => ({ 'x-auth-subject': subject, 'x-auth-role': 'admin' });
    const alice = [await openStream(as('alice')), await openStream(as('alice'))];
    const bob = [await openStream(as('bob')), await openStream(as('bob'))];
    try {
      expect([...alice, ...bob].map((stream) => stream.response.status)).toEqual([200, 200, 200, 200]);
      const third = await fetch(`${service.baseUrl}/v1/notifications/stream`, { headers: as('carol') });
      expect(third.status).toBe(503);
      expect(third.headers.get('content-type')).toContain('application/problem+json');
      await bob[0]!.close();
      const aliceAgain = await fetch(`${service.baseUrl}/v1/notifications/stream`, { headers: as('alice') });
      expect(aliceAgain.status).toBe(429);
      expect(aliceAgain.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await aliceAgain.json()) as { type: string }).type).toBe('/problems/too-many-streams');
      const carol = await eventually(
        async () => {
          const response = await openStream(as('carol'));
          if (response.response.status === 200) return response;
          await response.close();
          return undefined;
        },
        { description: 'the freed place' },
      );
      await carol.close();
    } finally {
      for (const stream of [...alice, ...bob]) await stream.close();
    }
  });

  it('drops a reader that stops reading instead of buffering for it, and stays healthy', async () => {
    const socket = connect(Number(new URL(service.baseUrl).port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    let received = 0;
    let closed = false;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.on('error', () => undefined);
    socket.on('close', () => (closed = true));
    socket.write('GET /v1/notifications/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await eventually(() => received > 0, { description: 'the stream to open' });
    socket.pause(); // reads nothing more: the kernel's buffers fill, then the service's

    const count = 400;
    const messageBytes = 64 * 1024;
    await insertDirectly(count, messageBytes);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    socket.resume();
    // Dropped: what the buffers held arrives, then the connection ends, long before everything was sent.
    await eventually(() => closed, { timeoutMs: 15_000, description: 'the stalled reader to be dropped' });
    socket.destroy();
    expect(received).toBeLessThan((count * messageBytes) / 2);

    expect((await fetch(`${service.baseUrl}/healthz`)).status).toBe(200);
    const fresh = await openStream();
    try {
      const driverId = randomUUID();
      await activate(driverId);
      await eventually(() => fresh.events.some((event) => event.driverId === driverId), { description: 'a fresh stream still served' });
    } finally {
      await fresh.close();
    }
  }, 40_000);

  it('ends the streams when its database connection dies, keeps running, and the clients resume without loss', async () => {
    const stream = await openStream();
    const before = randomUUID();
    await activate(before);
    await eventually(() => stream.events.some((event) => event.driverId === before), { description: 'a live notification' });
    const lastId = stream.events[stream.events.length - 1]!.id;

    // The database ends the stream's LISTEN connection (as a failover or an administrator would).
    const terminated = await withDatabase(async (client) => {
      const { rows } = await client.query<{ done: boolean }>(
        `select pg_terminate_backend(pid) as done from pg_stat_activity
          where datname = current_database() and query = 'listen "notification_notification_created"'`,
      );
      return rows.length;
    });
    expect(terminated).toBe(1);
    try {
      await eventually(() => stream.ended(), { timeoutMs: 10_000, description: 'the stream to end' });
      expect((await fetch(`${service.baseUrl}/healthz`)).status).toBe(200);
      // Stored by another instance while this one is not listening.
      const meanwhile = await insertDirectly(3);
      const resumed = await openStream({ 'last-event-id': lastId });
      try {
        await eventually(() => resumed.events.length >= meanwhile.length, { description: 'the catch-up' });
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(resumed.events.map((event) => event.driverId)).toEqual(meanwhile);
      } finally {
        await resumed.close();
      }
    } finally {
      await stream.close();
    }
  });
});

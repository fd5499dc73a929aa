import { randomUUID } from 'node:crypto';
import {
  DriverActivatedV1,
  DriverActivationRejectedV1,
  DriverRegisteredV1,
  DriverRegisteredV2,
  DriverRegistrationFailedV1,
  IdentityAccountCreatedV1,
  IdentityAccountCreationFailedV1,
  IdentityAccountDeletedV1,
  MailWelcomeSentV1,
  NotificationAdminsNotifiedV1,
  createEnvelope,
  type EventContract,
  type EventData,
  type OperatorActionList,
  type ParkedActionResult,
  type ParkedOverview,
  type ParkedPage,
  type RegistrationTimeline,
  type SystemOverview,
} from '@onboarding/contracts';
import { DOMAIN_EXCHANGE, listParked, platformParkedTables } from '@onboarding/messaging';
import { componentUnderTest, eventually } from '@onboarding/test-infra';
import { operationsService } from '../src';

const CLOSED = 'http://127.0.0.1:9'; // nothing listens there: the overview must show these services unreachable
const service = componentUnderTest(operationsService, {
  probeExchange: DOMAIN_EXCHANGE,
  env: {
    DRIVER_URL: CLOSED,
    IDENTITY_URL: CLOSED,
    MAILER_URL: CLOSED,
    NOTIFICATION_URL: CLOSED,
    GATEWAY_URL: CLOSED,
    TRACE_UI_URL: 'http://traces.local/trace/{traceId}',
    OVERVIEW_PROBE_TIMEOUT_MS: '1000',
  },
});

const person = { firstName: 'Katherine', lastName: 'Johnson', email: 'katherine.johnson@example.com', phone: '+1 555 0199 77' };

async function publish<C extends EventContract>(contract: C, driverId: string, data: EventData<C>, correlationId: string, time = new Date()) {
  const envelope = createEnvelope(contract, data, { source: 'test', subject: driverId, correlationId, time });
  await service.probe.publish(contract.routingKey, envelope);
  return envelope;
}

async function timeline(driverId: string): Promise<{ status: number; body: RegistrationTimeline & Record<string, unknown> }> {
  const response = await fetch(`${service.baseUrl}/v1/operations/registrations/${driverId}/timeline`);
  return { status: response.status, body: (await response.json()) as RegistrationTimeline & Record<string, unknown> };
}

async function timelineWith(driverId: string, steps: number): Promise<RegistrationTimeline> {
  let last: RegistrationTimeline | undefined;
  await eventually(
    async () => {
      const { status, body } = await timeline(driverId);
      last = body;
      return status === 200 && body.steps.length >= steps;
    },
    { description: `${steps} steps for ${driverId}` },
  );
  return last!;
}

async function auditRowsAsText(driverId: string): Promise<string> {
  const rows = await service.app.parts.orm.em
    .fork()
    .getConnection()
    .execute<{ row: string }[]>(`select to_jsonb(a)::text as row from "operations"."audit_event" a where driver_id = ?`, [driverId]);
  return rows.map((row) => row.row).join('\n');
}

/** A registration's events as their owners publish them, one second apart. */
async function successfulRegistration(driverId: string, correlationId: string) {
  const start = Date.now() - 60_000;
  const at = (seconds: number) => new Date(start + seconds * 1000);
  const registered = { driverId, ...person, registeredAt: at(0).toISOString(), version: 1 };
  await publish(DriverRegisteredV1, driverId, registered, correlationId, at(0));
  // Staged by one request a few milliseconds apart, without a cause: one fact.
  await publish(DriverRegisteredV2, driverId, { ...registered, preferredLanguage: 'en' }, correlationId, new Date(at(0).getTime() + 7));
  await publish(
    IdentityAccountCreatedV1,
    driverId,
    { driverId, objectId: randomUUID(), provider: 'local', createdAt: at(1).toISOString() },
    correlationId,
    at(1),
  );
  await publish(
    DriverActivatedV1,
    driverId,
    { driverId, b2cObjectId: randomUUID(), ...person, activatedAt: at(2).toISOString(), version: 2 },
    correlationId,
    at(2),
  );
  await publish(
    MailWelcomeSentV1,
    driverId,
    { driverId, messageId: `<welcome.${driverId}@onboarding.local>`, language: 'en', sentAt: at(3).toISOString(), attempts: 2 },
    correlationId,
    at(3),
  );
  await publish(
    NotificationAdminsNotifiedV1,
    driverId,
    { driverId, notificationType: 'driver.activated', notificationIds: [randomUUID()], recipientCount: 1, notifiedAt: at(4).toISOString() },
    correlationId,
    at(4),
  );
}

describe('operations service', () => {
  it('builds a complete timeline of a successful registration from the audit copies, keeping no personal data', async () => {
    const driverId = randomUUID();
    const correlationId = randomUUID();
    await successfulRegistration(driverId, correlationId);
    const result = await timelineWith(driverId, 5);
    expect(result).toMatchObject({ driverId, outcome: 'ACTIVE', complete: true, missing: [] });
    expect(result.steps.map((step) => [step.step, step.service])).toEqual([
      ['registered', 'driver'],
      ['account-created', 'identity'],
      ['activated', 'driver'],
      ['welcome-mail-sent', 'mailer'],
      ['admins-notified', 'notification'],
    ]);
    expect(result.steps[0]!.versions.sort()).toEqual([1, 2]); // v1 and v2 of one fact are one step
    expect(result.steps[3]).toMatchObject({ attempts: 2, compensation: false, failure: false, correlationId });
    for (const step of result.steps) expect(step.traceUrl === null || step.traceUrl.startsWith('http://traces.local/trace/')).toBe(true);

    const stored = await auditRowsAsText(driverId);
    expect(stored).toContain(driverId);
    for (const personal of Object.values(person)) expect(stored).not.toContain(personal);
    expect(stored).not.toContain('0199');
  });

  it('shows a refused account, the failure and the compensation of a late account, with reasons scrubbed', async () => {
    const driverId = randomUUID();
    const correlationId = randomUUID();
    const start = Date.now() - 30_000;
    const at = (seconds: number) => new Date(start + seconds * 1000);
    await publish(
      DriverRegisteredV2,
      driverId,
      { driverId, ...person, registeredAt: at(0).toISOString(), version: 1, preferredLanguage: 'de' },
      correlationId,
      at(0),
    );
    await publish(
      IdentityAccountCreationFailedV1,
      driverId,
      { driverId, reason: `account ${person.email} already exists`, code: 'account-exists', failedAt: at(1).toISOString() },
      correlationId,
      at(1),
    );
    await publish(
      DriverRegistrationFailedV1,
      driverId,
      { driverId, firstName: person.firstName, lastName: person.lastName, reason: 'account-exists', failedAt: at(2).toISOString(), version: 2 },
      correlationId,
      at(2),
    );
    await publish(
      NotificationAdminsNotifiedV1,
      driverId,
      { driverId, notificationType: 'driver.registration-failed', notificationIds: [], recipientCount: 0, notifiedAt: at(3).toISOString() },
      correlationId,
      at(3),
    );
    const failed = await timelineWith(driverId, 4);
    expect(failed).toMatchObject({ outcome: 'FAILED', complete: true });
    expect(failed.steps[1]).toMatchObject({
      step: 'account-creation-failed',
      failure: true,
      code: 'account-exists',
      reason: 'account [email] already exists',
    });

    // A late account (the saga had timed out) is compensated: rejected, then deleted.
    const objectId = randomUUID();
    await publish(
      IdentityAccountCreatedV1,
      driverId,
      { driverId, objectId, provider: 'local', createdAt: at(4).toISOString() },
      correlationId,
      at(4),
    );
    await publish(
      DriverActivationRejectedV1,
      driverId,
      { driverId, objectId, status: 'FAILED', reason: 'timeout', rejectedAt: at(5).toISOString(), version: 3 },
      correlationId,
      at(5),
    );
    const incomplete = await timelineWith(driverId, 6);
    expect(incomplete).toMatchObject({ outcome: 'FAILED', complete: false, missing: ['account-deleted'] });
    await publish(
      IdentityAccountDeletedV1,
      driverId,
      { driverId, objectId, reason: 'activation-rejected', deletedAt: at(6).toISOString() },
      correlationId,
      at(6),
    );
    const compensated = await timelineWith(driverId, 7);
    expect(compensated).toMatchObject({ outcome: 'FAILED', complete: true });
    expect(compensated.steps.slice(-2).map((step) => [step.step, step.compensation])).toEqual([
      ['activation-rejected', true],
      ['account-deleted', true],
    ]);
    expect(await auditRowsAsText(driverId)).not.toContain(person.email);
  });

  it('keeps one copy of an event delivered twice, and none of an event from a service that does not own it', async () => {
    const driverId = randomUUID();
    const correlationId = randomUUID();
    const created = await publish(
      IdentityAccountCreatedV1,
      driverId,
      { driverId, objectId: randomUUID(), provider: 'local', createdAt: new Date().toISOString() },
      correlationId,
    );
    await service.probe.publish(IdentityAccountCreatedV1.routingKey, created);
    // driver.activated as the mailer's broker user: parked as untrusted, never audited
    const forged = createEnvelope(
      DriverActivatedV1,
      { driverId, b2cObjectId: randomUUID(), ...person, activatedAt: new Date().toISOString(), version: 2 },
      { source: 'mailer', subject: driverId, correlationId },
    );
    await service.probe.publish(DriverActivatedV1.routingKey, forged, { userId: undefined });
    await eventually(
      async () =>
        (await listParked({ ...platformParkedTables(service.databaseUrl), queues: ['operations.events'] })).some(
          (row) => row.messageId === forged.id && row.reason === 'untrusted-publisher',
        ),
      { description: 'the forged event parked' },
    );
    const result = await timelineWith(driverId, 1);
    expect(result.steps.map((step) => step.step)).toEqual(['account-created']);
    expect(result).toMatchObject({ outcome: 'PENDING', complete: false, missing: ['registered', 'outcome'] });
  });

  it('shows on an incomplete timeline the open parked messages about its driver, from every service it can reach', async () => {
    const driverId = randomUUID();
    const correlationId = randomUUID();
    await publish(DriverRegisteredV1, driverId, { driverId, ...person, registeredAt: new Date().toISOString(), version: 1 }, correlationId);
    // The activation from a sender the broker did not verify: parked in operations' own table, about this driver.
    const forged = createEnvelope(
      DriverActivatedV1,
      { driverId, b2cObjectId: randomUUID(), ...person, activatedAt: new Date().toISOString(), version: 2 },
      { source: 'mailer', subject: driverId, correlationId },
    );
    await service.probe.publish(DriverActivatedV1.routingKey, forged, { userId: undefined });
    const shown = await eventually(
      async () => {
        const { status, body } = await timeline(driverId);
        return status === 200 && body.parked?.length ? body : undefined;
      },
      { description: 'the parked activation on the timeline' },
    );
    expect(shown).toMatchObject({ outcome: 'PENDING', complete: false });
    expect(shown.parked).toEqual([
      expect.objectContaining({ service: 'operations', messageId: forged.id, sourceQueue: 'operations.events', reason: 'untrusted-publisher' }),
    ]);
    expect(shown.parkedUnreachable!.sort()).toEqual(['driver', 'identity', 'mailer', 'notification']);
    expect(JSON.stringify(shown)).not.toContain(person.email);
    // Another driver's timeline does not show it, and a complete one asks no service at all.
    const other = randomUUID();
    await successfulRegistration(other, randomUUID());
    const complete = await timelineWith(other, 5);
    expect(complete.complete).toBe(true);
    expect(complete.parked).toBeUndefined();
  });

  it('answers 404 for a driver it never saw and 400 for an id that is not one', async () => {
    expect((await timeline(randomUUID())).status).toBe(404);
    const bad = await fetch(`${service.baseUrl}/v1/operations/registrations/not-a-uuid/timeline`);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
  });

  it('answers the system overview: services it cannot reach, queue depths, parked counts and saga outcomes per bucket', async () => {
    const driverId = randomUUID();
    await successfulRegistration(driverId, randomUUID());
    await timelineWith(driverId, 5);
    const now = new Date();
    const from = new Date(now.getTime() - 2 * 3_600_000).toISOString();
    const response = await fetch(`${service.baseUrl}/v1/operations/overview?from=${from}&to=${now.toISOString()}&bucket=1h`);
    expect(response.status).toBe(200);
    const overview = (await response.json()) as SystemOverview;
    expect(overview.services.map((entry) => entry.service).sort()).toEqual(['driver', 'gateway', 'identity', 'mailer', 'notification', 'operations']);
    for (const entry of overview.services.filter((other) => other.service !== 'operations')) {
      expect(entry).toMatchObject({ status: 'unreachable', outboxBacklog: null });
    }
    // Itself, through its own HTTP: ready, no outbox (it publishes nothing).
    expect(overview.services.find((entry) => entry.service === 'operations')).toMatchObject({ status: 'ready', outboxBacklog: null });
    const work = overview.queues.find((queue) => queue.queue === 'operations.events');
    expect(work).toMatchObject({ kind: 'work', service: 'operations', consumers: 1 });
    expect(typeof work?.messages).toBe('number');
    // The other services' queues do not exist in this vhost: unknown, not an error.
    expect(overview.queues.find((queue) => queue.queue === 'driver.events')).toMatchObject({ messages: null });
    expect(overview.parked.operations).toBeGreaterThanOrEqual(1); // the forged event, parked in its own table
    expect(overview.sagaOutcomes.buckets).toHaveLength(2);
    expect(overview.sagaOutcomes.buckets.reduce((sum, bucket) => sum + bucket.active, 0)).toBeGreaterThanOrEqual(1);
  });

  it('shows parked messages grouped by reason and queue, replays and archives them with a dry run, and records who did what', async () => {
    const driverId = randomUUID();
    const forged = createEnvelope(
      DriverActivatedV1,
      { driverId, b2cObjectId: randomUUID(), ...person, activatedAt: new Date().toISOString(), version: 2 },
      { source: 'mailer', subject: driverId, correlationId: randomUUID() },
    );
    await service.probe.publish(DriverActivatedV1.routingKey, forged, { userId: undefined });
    const listed = async (query: string) => {
      const response = await fetch(`${service.baseUrl}/v1/operations/parked${query}`);
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).not.toContain(person.email);
      return JSON.parse(text) as ParkedOverview;
    };
    const mine = async (query = '') => (await listed(`?service=operations${query}`)).messages.filter((message) => message.messageId === forged.id);
    const [message] = await eventually(async () => ((await mine()).length === 1 ? mine() : undefined), { description: 'the forged event listed' });
    expect(message).toMatchObject({
      service: 'operations',
      sourceQueue: 'operations.events',
      reason: 'untrusted-publisher',
      state: 'open',
      lastAction: null,
    });
    // Every other service is asked over its internal routes; here none runs, so each is named unreachable.
    const everything = await listed('');
    expect(everything.unreachable.sort()).toEqual(['driver', 'identity', 'mailer', 'notification']);
    const group = everything.groups.find((entry) => entry.service === 'operations' && entry.reason === 'untrusted-publisher');
    expect(group).toMatchObject({ queue: 'operations.events' });
    expect(group!.count).toBeGreaterThanOrEqual(1);
    expect(everything.byReason.find((group) => group.reason === 'untrusted-publisher')!.count).toBeGreaterThanOrEqual(1);

    const act = async (action: string, body: Record<string, unknown>, subject = 'admin-parked-test') => {
      const response = await fetch(`${service.baseUrl}/v1/operations/parked/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-auth-subject': subject, 'x-auth-role': 'admin' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as ParkedActionResult & Record<string, unknown> };
    };
    const one = { service: 'operations', id: message!.id };
    const preview = await act('replay', { ...one, dryRun: true });
    expect(preview).toMatchObject({ status: 200, body: { action: 'replay', dryRun: true, count: 1, failed: [] } });
    expect(preview.body.results).toEqual([{ service: 'operations', id: message!.id, messageId: forged.id, outcome: 'would-replay' }]);
    expect((await mine())[0]!.state).toBe('open');
    const replayed = await act('replay', one);
    expect(replayed.body).toMatchObject({ dryRun: false, count: 1, results: [{ outcome: 'replayed' }] });
    // Still from an untrusted publisher: the replayed copy is parked again, and the listing says who replayed it.
    const again = await eventually(
      async () => {
        const [row] = await mine();
        return row?.state === 'open' && row.lastAction ? row : undefined;
      },
      { description: 'parked again after the replay' },
    );
    expect(again.lastAction).toMatchObject({ action: 'replay', by: 'admin-parked-test', outcome: 'replayed' });
    expect(again.replays).toBe(1);

    expect((await act('archive', one)).body).toMatchObject({ count: 1, results: [{ outcome: 'archived' }] });
    expect(await mine()).toEqual([]);
    expect((await mine('&state=archived'))[0]).toMatchObject({ state: 'archived', lastAction: { action: 'archive' } });
    expect((await act('restore', { ...one, dryRun: true })).body.count).toBe(1);
    expect((await act('restore', one, 'another-admin')).body).toMatchObject({ count: 1, results: [{ outcome: 'restored' }] });
    expect((await mine())[0]).toMatchObject({ state: 'open', lastAction: { action: 'restore', by: 'another-admin' } });

    // A group over every service: the ones not running are reported, not hidden.
    const groupReplay = await act('replay', { reason: 'untrusted-publisher', dryRun: true });
    expect(groupReplay.body.failed.map((entry) => entry.service).sort()).toEqual(['driver', 'identity', 'mailer', 'notification']);
    expect(groupReplay.body.count).toBeGreaterThanOrEqual(1);

    const actions = (await (await fetch(`${service.baseUrl}/v1/operations/actions?limit=6`)).json()) as OperatorActionList;
    expect(actions.items.map((action) => `${action.by} ${action.action} ${String(action.dryRun)} ${action.count}`)).toEqual([
      expect.stringMatching(/^admin-parked-test replay true \d+$/),
      'another-admin restore false 1',
      'admin-parked-test restore true 1',
      'admin-parked-test archive false 1',
      'admin-parked-test replay false 1',
      'admin-parked-test replay true 1',
    ]);
    expect(actions.items[1]!.filter).toEqual(one);
    expect(actions.items[0]!.failedServices.sort()).toEqual(['driver', 'identity', 'mailer', 'notification']);

    // One service's messages a page at a time: a page of one, then the next from its nextBefore, until null.
    const paged: string[] = [];
    let before: string | null = null;
    for (let pages = 0; pages < 50; pages += 1) {
      const response = await fetch(
        `${service.baseUrl}/v1/operations/parked/messages?service=operations&reason=untrusted-publisher&limit=1${before ? `&before=${before}` : ''}`,
      );
      expect(response.status).toBe(200);
      const page = (await response.json()) as ParkedPage;
      expect(page.items.length).toBeLessThanOrEqual(1);
      paged.push(...page.items.map((item) => item.messageId));
      before = page.nextBefore;
      if (!before) break;
    }
    expect(paged).toContain(forged.id);
    expect(new Set(paged).size).toBe(paged.length);
    expect(paged).toHaveLength(group!.count);
    for (const query of ['', '?service=gateway', '?service=operations&before=abc', '?service=operations&limit=201']) {
      expect([query, (await fetch(`${service.baseUrl}/v1/operations/parked/messages${query}`)).status]).toEqual([query, 400]);
    }
    expect((await fetch(`${service.baseUrl}/v1/operations/parked/messages?service=mailer`)).status).toBe(503); // not running here

    // Refused: an id without its service, a service that consumes nothing, a state that does not exist.
    expect((await act('replay', { id: message!.id })).status).toBe(400);
    expect((await act('archive', { service: 'gateway' })).status).toBe(400);
    expect((await fetch(`${service.baseUrl}/v1/operations/parked?state=lost`)).status).toBe(400);
  });

  it('refuses an overview window that is empty, too finely bucketed or unknown', async () => {
    const now = Date.now();
    for (const query of [
      `from=${new Date(now).toISOString()}&to=${new Date(now - 1000).toISOString()}`,
      `from=${new Date(now - 30 * 86_400_000).toISOString()}&to=${new Date(now).toISOString()}&bucket=1m`,
      'bucket=2h',
      'from=yesterday',
      'colour=blue',
    ]) {
      const response = await fetch(`${service.baseUrl}/v1/operations/overview?${query}`);
      expect([query, response.status]).toEqual([query, 400]);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
    }
  });

  it('purges audit rows older than the retention, in batches', async () => {
    const driverId = randomUUID();
    await publish(
      IdentityAccountCreatedV1,
      driverId,
      { driverId, objectId: randomUUID(), provider: 'local', createdAt: new Date().toISOString() },
      randomUUID(),
    );
    await timelineWith(driverId, 1);
    expect(await service.app.parts.retention.purge(new Date())).toBe(0);
    const inAYear = new Date(Date.now() + 365 * 86_400_000);
    expect(await service.app.parts.retention.purge(inAYear)).toBeGreaterThanOrEqual(1);
    expect((await timeline(driverId)).status).toBe(404);
  });

  it('purges operator actions older than their own, longer retention', async () => {
    const connection = service.app.parts.orm.em.fork().getConnection();
    const insert = (daysAgo: number, subject: string) =>
      connection.execute(
        `insert into "operations"."operator_action" ("at", "subject", "action", "dry_run", "filter", "count", "refused", "failed_services", "results")
         values (now() - make_interval(days => ?), ?, 'archive', false, '{}', 0, 0, '[]', '[]')`,
        [daysAgo, subject],
      );
    await insert(400, 'retention-old');
    await insert(200, 'retention-recent');
    await service.app.parts.retention.purge(new Date());
    const left = await connection.execute<{ subject: string }[]>(
      `select "subject" from "operations"."operator_action" where "subject" like 'retention-%' order by "subject"`,
    );
    expect(left.map((row) => row.subject)).toEqual(['retention-recent']); // the default keeps 365 days
  });
});

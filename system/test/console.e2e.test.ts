import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { DriverActivatedV1, createEnvelope, type OperatorActionList, type ParkedOverview, type RegistrationTimeline } from '@onboarding/contracts';
import { DOMAIN_EXCHANGE } from '@onboarding/messaging';
import { GraphFake, eventually } from '@onboarding/test-infra';
import { LocalPlatform } from '../src/local-platform/local-platform';

/**
 * The admin console in a real browser (Debian's chromium driven by playwright-core) against the real system: every
 * page as an admin and as a dispatcher. Any console error or uncaught page error fails the test, except the ones a
 * step provokes on purpose (the 409 of an edit conflict); axe-core checks every page for serious or critical
 * violations; each page's screenshot is written to docs/console/ (committed, shown in the README). Identity runs
 * on the Graph fake, so a refused account and a compensation are cheap to provoke.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(__dirname, '..', '..', 'docs', 'console');
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const fixture = new LocalPlatform();
const graph = new GraphFake();
let browser: Browser;
const unexpected: string[] = [];
/** Console errors a step provokes on purpose, matched and removed one by one. */
const expected: RegExp[] = [];

function watch(page: Page): void {
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const index = expected.findIndex((pattern) => pattern.test(message.text()));
    if (index >= 0) expected.splice(index, 1);
    else unexpected.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => unexpected.push(`page error: ${error.message}`));
}

async function signedIn(role: 'admin' | 'dispatcher'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: fixture.system.gatewayUrl, viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  watch(page);
  await page.goto('/admin/');
  await page.getByRole('button', { name: `Sign in as ${role}` }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
  return { context, page };
}

/** axe-core in the page (evaluated through the DevTools protocol, which the page's CSP does not govern). */
async function accessible(page: Page, name: string): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    // Runs in the page, where axe-core put itself on the global object.
    const axe = (globalThis as unknown as { axe: { run: () => Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }).axe;
    const result = await axe.run();
    return result.violations.map((violation) => ({ id: violation.id, impact: violation.impact, nodes: violation.nodes.length }));
  });
  expect({ page: name, violations: violations.filter((violation) => ['serious', 'critical'].includes(violation.impact)) }).toEqual({
    page: name,
    violations: [],
  });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  expect(unexpected).toEqual([]);
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await graph.start();
  await fixture.start('console', {
    env: { ...graph.identityEnvironment(), TRACE_UI_URL: 'http://jaeger.local/trace/{traceId}' },
    // A mailbox the SMTP server does not know: that driver's welcome mail is refused for good and parked.
    refuseRecipient: (address) => (address.startsWith('unknown.') ? { code: 550, message: '5.1.1 No such mailbox' } : undefined),
  });
  // Root (CI containers) cannot use chromium's sandbox; everyone else keeps it.
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await fixture.stop();
  await graph.stop();
});

/**
 * Waits (through the API) until operations has the driver's timeline with `step`: the page is opened only then,
 * because a 404 from the timeline (operations' audit copy lags the driver service a little) is a console error in
 * Chromium, which these tests treat as a failure.
 */
async function timelineWith(driverId: string, step: string): Promise<RegistrationTimeline> {
  return eventually(
    async () => {
      const response = await fixture.api('GET', `/v1/operations/registrations/${driverId}/timeline`);
      const timeline = response.body as unknown as RegistrationTimeline;
      return response.status === 200 && timeline.steps.some((entry) => entry.step === step) ? timeline : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250, description: `${step} in the timeline of ${driverId}` },
  );
}

/** The steps the driver's page shows, in order, by the step name each carries. */
async function stepsShown(page: Page): Promise<(string | null)[]> {
  const items = await page.locator('ol.saga > li').all();
  return Promise.all(items.map((item) => item.getAttribute('data-step')));
}

describe('the admin console in chromium', () => {
  const tag = randomUUID().slice(0, 8);
  const lastName = `Console${tag}`;

  it('is served with a strict policy, a fresh index and long-cached assets', async () => {
    const index = await fetch(`${fixture.system.gatewayUrl}/admin/drivers/${randomUUID()}`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(index.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    const html = await index.text();
    const asset = /src="(\/admin\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const script = await fetch(`${fixture.system.gatewayUrl}${asset}`);
    expect(script.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${fixture.system.gatewayUrl}/admin/assets/missing.js`)).status).toBe(404);
  });

  it('an admin signs in, registers a driver, watches it go ACTIVE, edits it through a conflict, sees the notification, deletes', async () => {
    const context = await browser.newContext({ baseURL: fixture.system.gatewayUrl, viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    watch(page);
    await page.goto('/admin/');
    await page.getByRole('button', { name: 'Sign in as admin' }).waitFor();
    await accessible(page, 'sign-in');
    await page.getByRole('button', { name: 'Sign in as admin' }).click();
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const name of ['Drivers', 'Notifications', 'Failures', 'System']) await nav.getByRole('link', { name }).waitFor();

    const [session] = await context.cookies();
    expect(session).toMatchObject({ name: '__Host-console-session', httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
    // A change made with the cookie from another site is refused (CSRF), one from the console's origin is not.
    const cookieHeader = `${session!.name}=${session!.value}`;
    const crossSite = await fetch(`${fixture.system.gatewayUrl}/v1/drivers`, {
      method: 'POST',
      headers: { cookie: cookieHeader, origin: 'https://attacker.example', 'content-type': 'application/json' },
      body: JSON.stringify({ firstName: 'Eve', lastName: 'Forged', email: `eve.${tag}@example.com`, phone: '+1 555 0100' }),
    });
    expect(crossSite.status).toBe(403);
    expect(((await crossSite.json()) as { code?: string; type?: string }).type).toContain('cross-site-request');
    expect((await fetch(`${fixture.system.gatewayUrl}/v1/drivers?limit=1`, { headers: { cookie: cookieHeader } })).status).toBe(200);
    expect((await fetch(`${fixture.system.gatewayUrl}/v1/drivers?limit=1`, { headers: { cookie: `${cookieHeader}x` } })).status).toBe(401);

    // Register through the form; the driver appears and turns ACTIVE without a reload.
    await page.getByRole('heading', { name: 'Drivers', level: 1 }).waitFor();
    const form = page.getByRole('form', { name: 'Register a driver' });
    await form.getByLabel('First name').fill('Ada');
    await form.getByLabel('Last name').fill(lastName);
    await form.getByLabel('Email').fill(`ada.${tag}@example.com`);
    await form.getByLabel('Phone').fill('+44 20 7946 0001');
    await form.getByRole('button', { name: 'Register' }).click();
    const row = page.getByRole('row').filter({ hasText: `ada.${tag}@example.com` });
    await row.getByText('ACTIVE').waitFor({ timeout: 30_000 });

    // A driver registered elsewhere (another client) appears live too.
    const other = await fixture.api('POST', '/v1/drivers', {
      firstName: 'Bob',
      lastName,
      email: `bob.${tag}@example.com`,
      phone: '+44 20 7946 0002',
    });
    expect(other.status).toBe(202);
    await page
      .getByRole('row')
      .filter({ hasText: `bob.${tag}@example.com` })
      .waitFor({ timeout: 15_000 });
    // On top: newest first, so a new driver shows on the live first page however many drivers there are.
    await expect(page.locator('tbody tr').first().textContent()).resolves.toContain(`bob.${tag}@example.com`);

    // Filters: search by the shared last name, then by status.
    await page.getByLabel('Search by name or email').fill(lastName.toLowerCase());
    await eventually(async () => ((await page.locator('tbody tr').count()) === 2 ? true : undefined), { description: 'two drivers found' });
    await page.getByLabel('Search by name or email').fill(`bob.${tag}`);
    await eventually(async () => ((await page.locator('tbody tr').count()) === 1 ? true : undefined), { description: 'one driver by address' });
    await page.getByLabel('Search by name or email').fill(lastName);
    await page.getByLabel('Status').selectOption('FAILED');
    await page.getByText('No drivers match.').waitFor();
    await page.getByLabel('Status').selectOption('');
    await page.locator('tbody tr').nth(1).waitFor();
    await accessible(page, 'drivers');

    // The driver's page: profile, B2C id, and the saga timeline from operations, live until complete.
    const id = (await row.getByRole('link').getAttribute('href'))!.split('/').pop()!;
    await timelineWith(id, 'registered');
    await row.getByRole('link').click();
    await page.getByRole('heading', { name: `Ada ${lastName}` }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Complete' }).waitFor({ timeout: 30_000 });
    await expect(page.locator('.profile dd').nth(4).textContent()).resolves.toMatch(/\S{8,}/);
    const shown = await stepsShown(page);
    expect(shown.slice(0, 3)).toEqual(['registered', 'account-created', 'activated']);
    expect(shown.slice(3).sort()).toEqual(['admins-notified', 'welcome-mail-sent']);
    const activated = page.locator('ol.saga > li[data-step="activated"]');
    await expect(activated.textContent()).resolves.toMatch(/Activated.*by driver · driver\.activated v\d/);
    await expect(page.locator('ol.saga > li[data-step="account-created"]').textContent()).resolves.toContain('by identity');
    await expect(page.locator('ol.saga > li[data-step="welcome-mail-sent"]').textContent()).resolves.toMatch(/by mailer .* \d+ attempts?/);

    // An edit that meets someone else's change is refused and says so; nothing is overwritten.
    const editForm = page.getByRole('form', { name: 'Edit' });
    await editForm.getByLabel('First name').fill('Augusta');
    const current = await fixture.api('GET', `/v1/drivers/${id}`);
    expect((await fixture.api('PATCH', `/v1/drivers/${id}`, { version: current.body.version, phone: '+44 20 7946 0009' })).status).toBe(200);
    expected.push(/status of 409/);
    await editForm.getByRole('button', { name: 'Save' }).click();
    await editForm.getByText(/Conflict: someone else changed this driver/).waitFor();
    expect((await fixture.api('GET', `/v1/drivers/${id}`)).body).toMatchObject({ firstName: 'Ada', phone: '+44 20 7946 0009' });
    await editForm.getByRole('button', { name: 'Use the latest version' }).click();
    await editForm.getByRole('button', { name: 'Save' }).click();
    await editForm.getByText(/Saved \(version/).waitFor();
    expect((await fixture.api('GET', `/v1/drivers/${id}`)).body).toMatchObject({ firstName: 'Augusta', phone: '+44 20 7946 0009' });
    await page.getByRole('heading', { name: `Augusta ${lastName}` }).waitFor();
    // The complete timeline is read again after the driver changed, so the updates show up without a reload.
    await page.locator('ol.saga > li[data-step="updated"]').nth(1).waitFor({ timeout: 30_000 });
    await accessible(page, 'driver');

    // Notifications: the activation arrived; a new one arrives live; marking one read lowers the unread count.
    await nav.getByRole('link', { name: 'Notifications' }).click();
    await page.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
    await page.getByText('· live').waitFor();
    const unread = async () => Number(((await page.locator('.unread').textContent()) ?? '').split(' ')[0]);
    const before = await eventually(async () => ((await unread()) > 0 ? unread() : undefined), { description: 'the first notification' });
    const third = await fixture.api('POST', '/v1/drivers', { firstName: 'Cy', lastName, email: `cy.${tag}@example.com`, phone: '+44 20 7946 0003' });
    expect(third.status).toBe(202);
    await eventually(async () => ((await unread()) > before ? true : undefined), { timeoutMs: 30_000, description: 'a live notification' });
    const count = await unread();
    await page.getByRole('button', { name: 'Mark read' }).first().click();
    await eventually(async () => ((await unread()) === count - 1 ? true : undefined), { description: 'one read' });
    await accessible(page, 'notifications');

    await nav.getByRole('link', { name: 'Failures' }).click();
    await page.getByRole('heading', { name: 'Failures', level: 1 }).waitFor();
    await accessible(page, 'failures');

    // Delete Bob from his page once he is ACTIVE.
    await nav.getByRole('link', { name: 'Drivers' }).click();
    await page
      .getByRole('row')
      .filter({ hasText: `bob.${tag}@example.com` })
      .getByText('ACTIVE')
      .waitFor({ timeout: 30_000 });
    await page
      .getByRole('row')
      .filter({ hasText: `bob.${tag}@example.com` })
      .getByRole('link')
      .click();
    await page.getByRole('button', { name: 'Delete driver' }).click();
    await page.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByRole('heading', { name: 'Drivers', level: 1 }).waitFor();
    await page
      .getByRole('row')
      .filter({ hasText: `bob.${tag}@example.com` })
      .getByText('DELETED')
      .waitFor({ timeout: 15_000 });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in as admin' }).waitFor();
    expect(await context.cookies()).toEqual([]);
    expect(expected).toEqual([]);
    expect(unexpected).toEqual([]);
    await context.close();
  });

  it("an admin sees a refused registration's reason, a compensation marked, and the system with its saga outcomes", async () => {
    // Refused: the directory already has the address.
    graph.seed(`rex.${tag}@example.com`);
    const rex = await fixture.api('POST', '/v1/drivers', { firstName: 'Rex', lastName, email: `rex.${tag}@example.com`, phone: '+44 20 7946 0004' });
    expect(rex.status).toBe(202);
    const rexId = rex.body.id as string;
    await timelineWith(rexId, 'admins-notified');
    // Compensated: the directory is slow (both copies of the registration), the driver is deleted meanwhile, and the
    // account created late is deleted again. Only after Rex's saga, so that no call of his meets these faults.
    graph.failNext(2, { status: 0, delayMs: 1_500 });
    const cam = await fixture.api('POST', '/v1/drivers', { firstName: 'Cam', lastName, email: `cam.${tag}@example.com`, phone: '+44 20 7946 0005' });
    expect(cam.status).toBe(202);
    const camId = cam.body.id as string;
    expect((await fixture.api('DELETE', `/v1/drivers/${camId}`)).status).toBe(200);

    const { context, page } = await signedIn('admin');
    await page.goto(`/admin/drivers/${rexId}`);
    await page.getByRole('heading', { name: `Rex ${lastName}` }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Complete' }).waitFor({ timeout: 30_000 });
    expect(await stepsShown(page)).toEqual(['registered', 'account-creation-failed', 'registration-failed', 'admins-notified']);
    const refusal = page.locator('ol.saga > li[data-step="account-creation-failed"]');
    await expect(refusal.textContent()).resolves.toMatch(/Directory account refused.*failure.*by identity/);
    await expect(refusal.locator('.reason').textContent()).resolves.toMatch(/Reason: .*already exists.*\(account-exists\)/);
    await accessible(page, 'driver-refused');

    await timelineWith(camId, 'account-deleted');
    await page.goto(`/admin/drivers/${camId}`);
    await page.getByRole('heading', { name: `Cam ${lastName}` }).waitFor();
    await page.locator('ol.saga > li[data-step="account-deleted"]').waitFor({ timeout: 30_000 });
    expect(await stepsShown(page)).toEqual(expect.arrayContaining(['registered', 'deleted', 'activation-rejected', 'account-deleted']));
    await expect(page.locator('ol.saga > li.compensation').first().textContent()).resolves.toContain('compensation');
    await accessible(page, 'driver-compensated');

    // A registration that stalls: activated, but its welcome mail refused for good (550) and parked by the mailer.
    // The timeline waits for the mail and shows the parked message that explains why, with the way to Failures.
    const ray = await fixture.api('POST', '/v1/drivers', {
      firstName: 'Ray',
      lastName,
      email: `unknown.${tag}@example.com`,
      phone: '+44 20 7946 0006',
    });
    expect(ray.status).toBe(202);
    await timelineWith(ray.body.id as string, 'activated');
    await page.goto(`/admin/drivers/${ray.body.id as string}`);
    await page.getByRole('heading', { name: `Ray ${lastName}` }).waitFor();
    const parkedAbout = page.getByRole('region', { name: 'Parked messages about this driver' });
    await parkedAbout.locator('li[data-parked-reason="permanent-failure"]').waitFor({ timeout: 30_000 });
    await expect(parkedAbout.textContent()).resolves.toMatch(
      /parked by mailer from mailer\.events: permanent-failure.*SMTP refused the recipient at RCPT TO \(550/,
    );
    await expect(parkedAbout.textContent()).resolves.not.toContain(`unknown.${tag}@example.com`);
    await expect(page.getByRole('status').filter({ hasText: 'In progress' }).textContent()).resolves.toContain('Welcome mail sent');
    await accessible(page, 'driver-stalled');

    // System: every service ready, the queues, and the saga outcomes of this run in the chart and its table.
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'System' }).click();
    await page.getByRole('heading', { name: 'System', level: 1 }).waitFor();
    for (const service of ['driver', 'gateway', 'identity', 'mailer', 'notification']) {
      await page.locator(`tr[data-service="${service}"]`).getByText('ready', { exact: true }).waitFor({ timeout: 30_000 });
    }
    await page
      .getByRole('table', { name: /Queue depths/ })
      .locator('tbody tr')
      .first()
      .waitFor();
    await page.getByRole('img', { name: /Saga outcomes, last hour/ }).waitFor();
    // Ada and Bob activated, Rex failed, Cam compensated: the page refreshes every 10 s until all are counted.
    await eventually(
      async () => {
        const summary = (await page.locator('#outcomes-desc').textContent()) ?? '';
        const count = (label: string) => Number(new RegExp(`(\\d+) ${label}`).exec(summary)?.[1] ?? 0);
        return count('activated') >= 2 && count('failed') >= 1 && count('compensated') >= 1 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, description: 'the outcomes in the chart' },
    );
    expect(await page.locator('svg rect.bar-active').count()).toBe(12);
    await page.getByText('Saga outcomes as a table').click();
    await page.getByRole('table', { name: /Registrations per 5m/ }).waitFor();
    await accessible(page, 'system');
    await page.getByLabel('Window').selectOption('day');
    await page.getByRole('img', { name: /Saga outcomes, last day/ }).waitFor();
    await eventually(async () => ((await page.locator('svg rect.bar-active').count()) === 24 ? true : undefined), {
      description: 'a bar per hour',
    });
    expect(unexpected).toEqual([]);
    await context.close();
  });

  it('an admin finds a parked message with its reason, previews and replays it, archives and restores another', async () => {
    // Two activations from a publisher no consumer trusts (no broker user-id): each consuming service parks them.
    const connection = await amqplib.connect(fixture.amqpUrl);
    const channel = await connection.createConfirmChannel();
    const ids: string[] = [];
    const driverIds: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const driverId = randomUUID();
      driverIds.push(driverId);
      const envelope = createEnvelope(
        DriverActivatedV1,
        {
          driverId,
          b2cObjectId: randomUUID(),
          firstName: 'Parked',
          lastName: `Failure${tag}`,
          email: `parked.${tag}.${i}@example.com`,
          phone: '+44 20 7946 0100',
          activatedAt: new Date().toISOString(),
          version: 2,
        },
        { source: 'driver', subject: driverId, correlationId: `console-failures-${tag}` },
      );
      ids.push(envelope.id);
      channel.publish(DOMAIN_EXCHANGE, DriverActivatedV1.routingKey, Buffer.from(JSON.stringify(envelope)), {
        messageId: envelope.id,
        persistent: true,
      });
    }
    await channel.waitForConfirms();
    await connection.close();
    const parked = await eventually(
      async () => {
        const overview = (await fixture.api('GET', '/v1/operations/parked')).body as unknown as ParkedOverview;
        const mine = overview.messages.filter((message) => ids.includes(message.messageId));
        const service = mine.find((message) => message.messageId === ids[0])?.service;
        return service && mine.some((message) => message.messageId === ids[1] && message.service === service)
          ? mine.filter((message) => message.service === service)
          : undefined;
      },
      { timeoutMs: 30_000, description: 'both activations parked' },
    );
    const [first, second] = ids.map((id) => parked.find((message) => message.messageId === id)!);
    const { context, page } = await signedIn('admin');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Failures' }).click();
    await page.getByRole('heading', { name: 'Failures', level: 1 }).waitFor();
    const row = page.locator(`tr[data-message-id="${first!.messageId}"]`).filter({ hasText: first!.service });
    await row.locator('td').first().getByText(first!.reason, { exact: true }).waitFor();
    // Each message links to the registration it is about (its CloudEvents subject), whose timeline shows what waits on it.
    await expect(row.first().getByRole('link', { name: 'its registration' }).getAttribute('href')).resolves.toBe(`/admin/drivers/${driverIds[0]!}`);
    await page.getByRole('table', { name: 'Groups by reason and queue' }).getByText(first!.reason).first().waitFor();

    // One message: preview (a dry run that counts), replay, the outcome shown.
    await page.getByRole('button', { name: `Select message ${first!.messageId} of ${first!.service}` }).click();
    expect(await page.getByRole('button', { name: 'Replay', exact: true }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Preview replay' }).click();
    await page.getByText('Preview: 1 message(s) would be replayed.').waitFor();
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    await page.getByText('1 message(s) replayed.').waitFor();
    await page.getByText(`${first!.service} ${first!.messageId}: replayed`).waitFor();
    await page
      .getByRole('list', { name: 'Recent operator actions' })
      .getByText(/replay of message/)
      .first()
      .waitFor();
    await accessible(page, 'failures');

    // Another: archived, then found among the archived and restored.
    await page.getByRole('button', { name: `Select message ${second!.messageId} of ${second!.service}` }).click();
    await page.getByRole('button', { name: 'Archive' }).click();
    await page.getByText('1 message(s) archived.').waitFor();
    await page.getByLabel('State').selectOption('archived');
    await page.getByRole('button', { name: `Select message ${second!.messageId} of ${second!.service}` }).click();
    await page.getByRole('button', { name: 'Restore' }).click();
    await page.getByText('1 message(s) restored.').waitFor();

    // A group lists its own messages, newest first, paged past what the overview shows of every service.
    await page.getByLabel('State').selectOption('open');
    // Open again, in the open listing (the archived listing, still shown until the open one arrives, has it archived).
    await page.locator(`tr[data-message-id="${second!.messageId}"]`).filter({ hasText: 'open' }).first().waitFor();
    await page.getByRole('button', { name: `Select group ${second!.reason} from ${second!.sourceQueue} (${second!.service})` }).click();
    const groupTable = page.getByRole('table', { name: new RegExp(`^Parked messages of ${second!.reason} from ${second!.sourceQueue}`) });
    await groupTable.locator(`tr[data-message-id="${second!.messageId}"]`).waitFor();
    await accessible(page, 'failures-group');
    await page.getByRole('button', { name: 'Newest of every service' }).click();
    await groupTable.waitFor({ state: 'detached' });

    // Every action recorded with who: the signed-in admin's subject, the newest first.
    const actions = (await fixture.api('GET', '/v1/operations/actions?limit=4')).body as unknown as OperatorActionList;
    expect(actions.items.map((action) => `${action.action} ${String(action.dryRun)} ${action.count}`)).toEqual([
      'restore false 1',
      'archive false 1',
      'replay false 1',
      'replay true 1',
    ]);
    expect(new Set(actions.items.map((action) => action.by)).size).toBe(1);
    expect(actions.items[0]!.by).not.toBe('(no verified subject)');
    expect(unexpected).toEqual([]);
    await context.close();
  }, 90_000);

  it('a dispatcher sees Drivers only, and the API refuses the rest to its session', async () => {
    const { context, page } = await signedIn('dispatcher');
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Drivers' }).waitFor();
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Drivers']);
    expect((await page.request.get('/v1/notifications')).status()).toBe(403);
    expect((await page.request.get('/v1/operations/parked')).status()).toBe(403);
    expect((await page.request.get('/v1/operations/actions')).status()).toBe(403);
    expect((await page.request.get('/v1/drivers?limit=1')).status()).toBe(200);
    await page.locator('tbody tr').first().waitFor();
    await accessible(page, 'drivers-dispatcher');
    // A driver's page shows the driver service's own history: operations is admin-only, and is not even asked.
    const requested: string[] = [];
    page.on('request', (request) => requested.push(new URL(request.url()).pathname));
    await page.locator('tbody tr').filter({ hasText: 'ACTIVE' }).first().locator('a').click();
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    await page.locator('ol.timeline > li').first().waitFor();
    expect(await page.locator('ol.saga').count()).toBe(0);
    await accessible(page, 'driver-dispatcher');
    expect(requested.filter((path) => path.startsWith('/v1/operations'))).toEqual([]);
    expect(unexpected).toEqual([]);
    await context.close();
  });
});

import { listParked, platformParkedTables } from '@onboarding/messaging';
import { eventually } from '@onboarding/test-infra';
import { LocalPlatform } from '../src/local-platform/local-platform';

// The whole retry schedule is 0.6 s; the database stays away for more than eight times that, with registrations
// arriving before, during and after: before the consumers paused, every message in flight was parked.
const RETRY_DELAYS_MS = [200, 400];
const OUTAGE_MS = 5_000;
const BEFORE_MS = 2_000;
const AFTER_MS = 3_000;
const RATE_PER_SECOND = 8;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const platform = new LocalPlatform();

beforeAll(async () => {
  // No gateway rate limit: it is per client, and this one client's retries during the outage would exhaust it.
  await platform.start('db-outage', { databaseProxy: true, env: { RETRY_DELAYS_MS: RETRY_DELAYS_MS.join(','), RATE_LIMIT_MAX: '100000000' } });
}, 120_000);

afterAll(async () => {
  await platform.stop();
});

describe('a PostgreSQL outage longer than the retry schedule, under load', () => {
  it('pauses the sagas and answers 503 with Retry-After meanwhile; afterwards every registration is ACTIVE with one mail and nothing is parked', async () => {
    const outage = { cutAt: 0, restoredAt: 0 };
    const accepted: string[] = [];
    const unavailableDuringOutage: (string | null)[] = [];
    let firstAcceptedAfterRestoreMs: number | undefined;
    const deadline = Date.now() + BEFORE_MS + OUTAGE_MS + AFTER_MS + 30_000;

    // A patient client: tries again (200 ms later) until the platform takes the registration.
    const register = async (index: number) => {
      for (let tries = 0; tries < 500 && Date.now() < deadline; tries += 1) {
        const response = await platform.register(index, 'outage').catch(() => undefined);
        const now = Date.now();
        if (response?.status === 202 || response?.status === 409) {
          accepted.push(`driver.outage.${index}@example.com`);
          if (response.status === 202 && outage.restoredAt > 0) firstAcceptedAfterRestoreMs ??= now - outage.restoredAt;
          return;
        }
        if (response?.status === 503 && outage.cutAt > 0 && outage.restoredAt === 0)
          unavailableDuringOutage.push(response.headers.get('retry-after'));
        await sleep(200);
      }
    };
    const clients: Promise<void>[] = [];
    const load = (async () => {
      const end = Date.now() + BEFORE_MS + OUTAGE_MS + AFTER_MS;
      for (let index = 0; Date.now() < end && index < 10_000; index += 1) {
        clients.push(register(index));
        await sleep(1000 / RATE_PER_SECOND);
      }
    })();

    await sleep(BEFORE_MS);
    platform.databaseProxy!.cut();
    outage.cutAt = Date.now();
    await sleep(OUTAGE_MS);
    platform.databaseProxy!.restore();
    outage.restoredAt = Date.now();
    await load;
    await Promise.all(clients);
    console.log(
      `database outage: ${accepted.length}/${clients.length} registrations accepted, ${unavailableDuringOutage.length} answers 503 during the outage, first 202 ${firstAcceptedAfterRestoreMs} ms after the database returned`,
    );

    expect(accepted).toHaveLength(clients.length);
    expect(unavailableDuringOutage.length).toBeGreaterThan(0);
    for (const retryAfter of unavailableDuringOutage) expect(retryAfter).toMatch(/^\d+$/);
    expect(firstAcceptedAfterRestoreMs).toBeDefined();
    // Within a second or two of the database's return: the driver's 503s carry Retry-After, so the gateway passes
    // them on without opening its breaker, and a breaker that did open closes once the driver's /readyz is ready
    // (probed every UPSTREAM_PROBE_INTERVAL_MS, 1 s by default). It took 5.9 s when the breaker waited its reset time.
    expect(firstAcceptedAfterRestoreMs).toBeLessThan(2_000);

    const drivers = await eventually(
      async () => {
        const all = await platform.allDrivers();
        const active = all.filter((driver) => driver.status === 'ACTIVE');
        const mailed = active.every((driver) => platform.mail.distinctMailsTo(driver.email).length > 0);
        return active.length >= accepted.length && mailed ? all : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 500, description: 'every registration ACTIVE with its mail' },
    );
    await sleep(1_000); // a late second mail would land now
    const byEmail = new Map(drivers.map((driver) => [driver.email, driver]));
    for (const email of accepted) {
      expect({ email, status: byEmail.get(email)?.status, mails: platform.mail.distinctMailsTo(email).length }).toEqual({
        email,
        status: 'ACTIVE',
        mails: 1,
      });
    }
    const parked = await listParked(platformParkedTables(platform.databaseUrl));
    expect(parked).toEqual([]);
  }, 110_000);
});

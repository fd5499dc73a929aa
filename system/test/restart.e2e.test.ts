import { eventually } from '@onboarding/test-infra';
import { BACKEND_SERVICES, SERVICES } from '@onboarding/contracts';
import { LocalPlatform } from '../src/local-platform/local-platform';

const fixture = new LocalPlatform();

beforeAll(async () => {
  await fixture.start('restart');
}, 120_000);

afterAll(async () => {
  await fixture.stop();
});

describe('killing the whole system in the middle of registrations', () => {
  it('loses none of them: each ends ACTIVE with exactly one mail and one notification', async () => {
    const total = 40;
    let sent = 0;
    let failedAttempts = 0;
    const clients = Array.from({ length: 4 }, async (_, client) => {
      for (let index = client; index < total; index += 4) {
        sent += 1;
        // Like a real client, retry until the system answers: 202, or 409 when an earlier attempt committed
        // but its answer was lost in the crash.
        for (let attempt = 0; attempt < 300; attempt += 1) {
          const response = await fixture.register(index, 'kill').catch(() => undefined);
          if (response?.status === 202 || response?.status === 409) break;
          failedAttempts += 1;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });

    await eventually(() => sent >= total / 2, { timeoutMs: 30_000, description: 'half of the registrations sent' });
    for (const { name } of SERVICES) await fixture.system.kill(name); // SIGKILL: no drain, no goodbye
    await new Promise((resolve) => setTimeout(resolve, 300));
    await Promise.all(
      BACKEND_SERVICES.map(({ name }) => {
        fixture.system.spawn(name);
        return fixture.system.waitReady(name);
      }),
    );
    fixture.system.spawn('gateway');
    await fixture.system.waitReady('gateway');
    await Promise.all(clients);

    const drivers = await fixture.allDrivers();
    expect(drivers).toHaveLength(total);
    expect(failedAttempts).toBeGreaterThan(0); // the kill really interrupted the clients
    await eventually(async () => (await fixture.allDrivers()).every((driver) => driver.status === 'ACTIVE'), {
      timeoutMs: 90_000,
      description: 'every driver ACTIVE',
    });
    for (const driver of drivers) {
      await eventually(() => fixture.mail.mailsTo(driver.email).length >= 1, {
        timeoutMs: 60_000,
        description: `the mail of ${driver.id}`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    // One welcome mail per driver (by Message-ID: a kill inside the few milliseconds between the SMTP server's
    // acceptance and the mailer's commit can make it send the same mail again, which receivers recognise).
    const duplicates = drivers.filter((driver) => fixture.mail.distinctMailsTo(driver.email).length !== 1);
    expect(duplicates).toEqual([]);
    for (const driver of drivers) {
      expect(await fixture.notificationsFor(driver.id)).toHaveLength(1);
    }
    console.log(
      `kill test: ${total} registrations, ${failedAttempts} failed attempts while down, ${drivers.length} drivers, all ACTIVE, ${fixture.mail.mails.length} mails`,
    );
  });
});

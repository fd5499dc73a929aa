import { SERVICES } from '@onboarding/contracts';
import { runChaos } from '../src/chaos/chaos';

describe('chaos, small: every service SIGKILLed in turn and the broker cut while registrations flow', () => {
  it('loses nothing and duplicates nothing', async () => {
    // The run's own account (faults, and why it did not settle) is printed only when the test fails.
    const lines: string[] = [];
    const report = await runChaos({
      // A restarted service is waited for until it is fully ready (broker, consumer and relay up), 4 to 7 s on
      // a busy 2-core machine: 40 s leaves every one of the seven faults (six services, the broker) its slot.
      durationMs: 40_000,
      ratePerSecond: 6,
      brokerFault: 'cut',
      log: (line) => lines.push(line),
      settleTimeoutMs: 120_000,
    }).catch((error: unknown) => {
      console.log(`chaos run, as it went:\n${lines.join('\n')}`);
      throw error;
    });
    console.log(`chaos: ${JSON.stringify(report)}`);
    if (!report.ok) console.log(`chaos run, as it went:\n${lines.join('\n')}`);
    expect(report.crashes).toEqual([]);
    expect(report.faults).toHaveLength(SERVICES.length + 1);
    expect(report.registrationsAccepted).toBe(report.registrationsAttempted);
    expect(report.drivers).toBeGreaterThanOrEqual(report.registrationsAccepted);
    expect(report).toMatchObject({
      lost: 0,
      stillPending: 0,
      duplicateMails: 0,
      missingMails: 0,
      duplicateAccounts: 0,
      missingAccounts: 0,
      orphanAccounts: 0,
      missingNotifications: 0,
      incompleteTimelines: 0,
      ok: true,
    });
  }, 300_000);
});

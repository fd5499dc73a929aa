import type { BrokerFault } from './chaos';
import { choiceOption, numberOption, parseCommandLine } from '../cli/args';

const BROKER_FAULTS: readonly BrokerFault[] = ['restart', 'cut', 'none'];

const USAGE = `usage: npm run chaos -- [--duration SECONDS] [--rate PER_SECOND] [--broker-fault restart|cut|none] [--database-outage SECONDS]

  --duration      how long drivers are registered and services killed, 5..3600 s (default 60); longer when the
                  restarts have not all happened by then (every fault always runs), at most three times as long
  --rate          registrations per second, more than 0 and at most 200 (default 10)
  --broker-fault  restart RabbitMQ, cut every broker connection through a proxy, or none (default restart)
  --database-outage
                  cut every service off from PostgreSQL through a proxy this long, once, 0..600 s (default 0: none)

Both --name value and --name=value work; an unknown option or an invalid value is an error (exit 2).`;

/** `npm run chaos [-- --duration 60 --rate 10 --broker-fault restart|cut|none]` */
async function main(): Promise<void> {
  const cli = parseCommandLine(USAGE, {
    duration: { type: 'string' },
    rate: { type: 'string' },
    'broker-fault': { type: 'string' },
    'database-outage': { type: 'string' },
  });
  const durationSeconds = numberOption(cli, 'duration', cli.values.duration, { fallback: 60, min: 5, max: 3600 });
  const rate = numberOption(cli, 'rate', cli.values.rate, { fallback: 10, min: 0, minExclusive: true, max: 200 });
  const brokerFault = choiceOption(cli, 'broker-fault', cli.values['broker-fault'], BROKER_FAULTS, 'restart');
  const databaseOutageSeconds = numberOption(cli, 'database-outage', cli.values['database-outage'], { fallback: 0, min: 0, max: 600 });
  // Loaded only now: the platform's modules take a second or two to load, which a refused command need not wait for.
  const { runChaos } = await import('./chaos.js');
  const report = await runChaos({
    durationMs: durationSeconds * 1000,
    ratePerSecond: rate,
    brokerFault,
    databaseOutageMs: databaseOutageSeconds * 1000,
    log: (line) => console.log(`[chaos] ${line}`),
  });
  const rows: [string, number | string][] = [
    ['registrations attempted', report.registrationsAttempted],
    ['registrations accepted', report.registrationsAccepted],
    ['client retries during faults', report.clientRetries],
    [
      'retried answers',
      Object.entries(report.retriedAnswers)
        .map(([status, count]) => `${status}×${count}`)
        .join(' ') || 'none',
    ],
    ['drivers in the system', report.drivers],
    ['ACTIVE', report.active],
    ['FAILED', report.failed],
    ['still PENDING', report.stillPending],
    ['lost registrations', report.lost],
    ['duplicate mails', report.duplicateMails],
    ['SMTP resends (same Message-ID)', report.smtpResends],
    ['missing mails', report.missingMails],
    ['mails to FAILED drivers', report.mailsForFailedDrivers],
    ['duplicate accounts', report.duplicateAccounts],
    ['missing accounts', report.missingAccounts],
    ['orphan accounts', report.orphanAccounts],
    ['missing notifications', report.missingNotifications],
    ['incomplete timelines', report.incompleteTimelines],
    ['parked messages', report.parked],
    ['services that crashed', report.crashes.length],
    ...(report.firstAcceptedAfterDatabaseMs === undefined
      ? []
      : ([['first 202 after DB back (ms)', report.firstAcceptedAfterDatabaseMs]] as [string, number][])),
  ];
  console.log('');
  for (const fault of report.faults) console.log(`  fault: ${fault}`);
  for (const crash of report.crashes) console.log(`  crash: ${crash}`);
  for (const [name, value] of rows) console.log(`  ${name.padEnd(30)} ${value}`);
  console.log(
    `\n${report.ok ? 'PASS' : 'FAIL'}: ${report.lost} lost registrations, ${report.duplicateMails} duplicate mails, ${report.orphanAccounts} orphan accounts, ${report.parked} parked`,
  );
  console.log(JSON.stringify(report));
  process.exit(report.ok ? 0 : 1);
}

main().catch((err: Error) => {
  console.error(`chaos: ${err.message}`);
  process.exit(1);
});

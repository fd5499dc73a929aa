import { runChaos, type BrokerFault } from './chaos';

/** `npm run chaos [-- --duration 60 --rate 10 --broker-fault restart|cut|none]` */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: string) => {
    const index = args.indexOf(`--${name}`);
    return index >= 0 && args[index + 1] ? args[index + 1]! : fallback;
  };
  const durationSeconds = Number(option('duration', '60'));
  const rate = Number(option('rate', '10'));
  const brokerFault = option('broker-fault', 'restart') as BrokerFault;
  if (!(durationSeconds >= 5 && durationSeconds <= 3600) || !(rate > 0 && rate <= 200) || !['restart', 'cut', 'none'].includes(brokerFault)) {
    console.error('usage: npm run chaos -- [--duration 5..3600 s] [--rate 0..200 per s] [--broker-fault restart|cut|none]');
    process.exit(2);
  }
  const report = await runChaos({
    durationMs: durationSeconds * 1000,
    ratePerSecond: rate,
    brokerFault,
    log: (line) => console.log(`[chaos] ${line}`),
  });
  const rows: [string, number | string][] = [
    ['registrations attempted', report.registrationsAttempted],
    ['registrations accepted', report.registrationsAccepted],
    ['client retries during faults', report.clientRetries],
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
  ];
  console.log('');
  for (const fault of report.faults) console.log(`  fault: ${fault}`);
  for (const [name, value] of rows) console.log(`  ${name.padEnd(30)} ${value}`);
  console.log(
    `\n${report.ok ? 'PASS' : 'FAIL'}: ${report.lost} lost registrations, ${report.duplicateMails} duplicate mails, ${report.orphanAccounts} orphan accounts`,
  );
  console.log(JSON.stringify(report));
  process.exit(report.ok ? 0 : 1);
}

main().catch((err: Error) => {
  console.error(`chaos: ${err.message}`);
  process.exit(1);
});

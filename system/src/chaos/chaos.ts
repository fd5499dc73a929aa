import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { GraphFake, eventually } from '@onboarding/test-infra';
import { SERVICES, type ServiceName } from '@onboarding/contracts';
import { listParked, platformParkedTables } from '@onboarding/messaging';
import { BENCHMARK_SERVICE_ENV, LocalPlatform, type DriverResource } from '../local-platform/local-platform';

const run = promisify(execFile);

export type BrokerFault = 'restart' | 'cut' | 'none';

export interface ChaosOptions {
  durationMs: number;
  ratePerSecond: number;
  /** `restart`: stop and start the local RabbitMQ application; `cut`: sever every broker connection for a while. */
  brokerFault: BrokerFault;
  /** Cut every service off from PostgreSQL (through a proxy) this long, once; 0 for no database outage. */
  databaseOutageMs?: number;
  log: (line: string) => void;
  settleTimeoutMs?: number;
}

export interface ChaosReport {
  durationMs: number;
  registrationsAttempted: number;
  registrationsAccepted: number;
  clientRetries: number;
  /** What the retried attempts were answered, by status ('no answer' when the request failed or timed out). */
  retriedAnswers: Record<string, number>;
  drivers: number;
  active: number;
  failed: number;
  stillPending: number;
  lost: number;
  /** Drivers with more than one distinct welcome mail (different Message-IDs): a real duplicate. */
  duplicateMails: number;
  /** SMTP deliveries repeated with the same Message-ID after a crash inside the send window (receivers dedupe them). */
  smtpResends: number;
  missingMails: number;
  mailsForFailedDrivers: number;
  duplicateAccounts: number;
  missingAccounts: number;
  orphanAccounts: number;
  missingNotifications: number;
  /** Settled drivers whose timeline in the operations service misses a step their outcome needs (or that it never saw). */
  incompleteTimelines: number;
  /** Messages in any service's parking lot at the end. */
  parked: number;
  /** After a database outage, from the database's return to the first registration accepted (202). */
  firstAcceptedAfterDatabaseMs?: number;
  faults: string[];
  /** Services that exited without being killed by the run (a crash), each with its exit and its last logged errors. */
  crashes: string[];
  ok: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Registrations at a steady rate through the gateway while every service is SIGKILLed and restarted in turn
 * and the broker goes away once; then checks that nothing was lost or duplicated: every driver ACTIVE with
 * exactly one directory account, one welcome mail and one admin notification, or FAILED with no account.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const graph = new GraphFake();
  await graph.start();
  const platform = new LocalPlatform();
  const faults: string[] = [];
  const crashes: string[] = [];
  try {
    options.log('starting a fresh platform (own database, vhost, mail catcher, Graph fake)…');
    await platform.start('chaos', {
      brokerProxy: options.brokerFault === 'cut',
      databaseProxy: (options.databaseOutageMs ?? 0) > 0,
      // A service that exits on its own (a crash, not one of the run's kills) is reported when it happens; it is not
      // restarted, as nothing would restart it in production either without a supervisor noticing.
      onEvent: (message) => {
        const crashed = SERVICES.find(({ name }) => message.startsWith(`${name} exited `));
        if (!crashed) return;
        options.log(message);
        void lastErrors(platform.system.logFile(crashed.name)).then((errors) => {
          options.log(`${crashed.name}'s last errors:\n${errors}`);
          crashes.push(`${message}\n${errors}`);
        });
      },
      env: {
        // The gateway's rate limit is per client and the run is one client: during a long outage its patient retries
        // alone would exhaust it, and the run would measure the limiter instead of the recovery.
        RATE_LIMIT_MAX: BENCHMARK_SERVICE_ENV.RATE_LIMIT_MAX!,
        ...graph.identityEnvironment(),
        RETRY_DELAYS_MS: '500,1000,2000,4000,8000,16000',
        GRAPH_BREAKER_RESET_MS: '2000',
        SMTP_BREAKER_RESET_MS: '2000',
      },
    });

    const started = Date.now();
    const deadline = started + options.durationMs;
    // Every fault happens, however slow the machine: each restart is waited for until the service is fully ready,
    // which on a loaded machine can push the later faults past the planned duration. The load goes on until the last
    // fault is over; all of it is bounded by three times the duration.
    const hardDeadline = started + options.durationMs * 3;
    let faultsOver = false;
    let loadEndedAt: number | undefined;
    let attempted = 0;
    let accepted = 0;
    let retries = 0;
    const retriedAnswers: Record<string, number> = {};
    let databaseRestoredAt: number | undefined;
    let firstAcceptedAfterDatabaseMs: number | undefined;
    const clients: Promise<void>[] = [];
    const register = async (index: number) => {
      attempted += 1;
      // A patient client: retry until the platform answers, for as long as the load lasts plus a minute.
      while (Date.now() < (loadEndedAt ?? hardDeadline) + 60_000) {
        const response = await platform.register(index, 'chaos').catch(() => undefined);
        if (response?.status === 202 || response?.status === 409) {
          accepted += 1;
          if (response.status === 202 && databaseRestoredAt !== undefined) firstAcceptedAfterDatabaseMs ??= Date.now() - databaseRestoredAt;
          return;
        }
        retries += 1;
        const answer = response ? String(response.status) : 'no answer';
        retriedAnswers[answer] = (retriedAnswers[answer] ?? 0) + 1;
        await sleep(200);
      }
    };
    const load = (async () => {
      const interval = 1000 / options.ratePerSecond;
      for (let index = 0; (Date.now() < deadline || !faultsOver) && Date.now() < hardDeadline && index < 1_000_000; index += 1) {
        clients.push(register(index));
        await sleep(interval);
      }
      loadEndedAt = Date.now();
    })();

    const victims: ServiceName[] = SERVICES.map((entry) => entry.name);
    const databaseOutageMs = options.databaseOutageMs ?? 0;
    // The database outage takes a slot of its own after the first kill, so no service (re)starts while it lasts.
    const slots = victims.length + 2 + (databaseOutageMs > 0 ? 1 : 0);
    for (let slot = 1; slot < slots && Date.now() < hardDeadline; slot += 1) {
      await sleep(Math.max(0, started + (options.durationMs * slot) / slots - Date.now()));
      if (slot === 2 && databaseOutageMs > 0) {
        const cutAt = Date.now();
        platform.databaseProxy?.cut();
        await sleep(databaseOutageMs);
        platform.databaseProxy?.restore();
        databaseRestoredAt = Date.now();
        faults.push(
          `PostgreSQL cut off from every service for ${(databaseOutageMs / 1000).toFixed(1)} s at ${((cutAt - started) / 1000).toFixed(1)}s`,
        );
        options.log(`fault: ${faults[faults.length - 1]}`);
        continue;
      }
      if (slot === Math.ceil(slots / 2) && options.brokerFault !== 'none') {
        faults.push(await brokerOutage(platform, options.brokerFault));
        options.log(`fault: ${faults[faults.length - 1]}`);
        continue;
      }
      const victim = victims.shift();
      if (!victim) continue;
      await platform.system.kill(victim);
      await sleep(500);
      platform.system.spawn(victim);
      await platform.system.waitReady(victim, 60_000);
      faults.push(`SIGKILL ${victim} at ${((Date.now() - started) / 1000).toFixed(1)}s, restarted`);
      options.log(`fault: ${faults[faults.length - 1]}`);
    }
    faultsOver = true;
    await load;
    await Promise.all(clients);
    options.log(`load done: ${attempted} registrations attempted, ${accepted} accepted, ${retries} client retries; settling…`);

    const settled = await eventually(
      async () => {
        const drivers = await platform.allDrivers();
        const pending = drivers.filter((driver) => driver.status === 'PENDING').length;
        const active = drivers.filter((driver) => driver.status === 'ACTIVE');
        const mailed = active.every((driver) => platform.mail.mailsTo(driver.email).length > 0);
        return pending === 0 && mailed ? drivers : undefined;
      },
      { timeoutMs: options.settleTimeoutMs ?? 180_000, intervalMs: 1_000, description: 'every saga to finish' },
    ).catch(async (error: unknown) => {
      options.log(`not settled: ${error instanceof Error ? error.message : String(error)}`);
      for (const { name } of SERVICES) options.log(`${name}'s last errors:\n${await lastErrors(platform.system.logFile(name))}`);
      return platform.allDrivers();
    });
    await sleep(3_000); // late duplicates, if any, would land now
    return await verify(platform, graph, settled, {
      durationMs: Date.now() - started,
      attempted,
      accepted,
      retries,
      retriedAnswers,
      faults,
      crashes,
      firstAcceptedAfterDatabaseMs,
    });
  } finally {
    await platform.stop();
    await graph.stop();
  }
}

/** The last few lines of a service's log at level error or above, or not JSON at all (a crash's stack), for a failed run's account. */
async function lastErrors(logFile: string, count = 5): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const errors = text.split('\n').filter((line) => {
    if (!line.trim()) return false;
    try {
      return ((JSON.parse(line) as { level?: number }).level ?? 0) >= 50;
    } catch {
      return true;
    }
  });
  return (
    errors
      .slice(-count)
      .map((line) => `  ${line.slice(0, 400)}`)
      .join('\n') || '  (none)'
  );
}

async function brokerOutage(platform: LocalPlatform, fault: BrokerFault): Promise<string> {
  if (fault === 'cut') {
    platform.brokerProxy?.cut();
    await sleep(3_000);
    platform.brokerProxy?.restore();
    return 'every broker connection cut for 3 s';
  }
  const begun = Date.now();
  await run('rabbitmqctl', ['-q', 'stop_app'], { timeout: 60_000 });
  await sleep(1_000);
  await run('rabbitmqctl', ['-q', 'start_app'], { timeout: 120_000 });
  return `RabbitMQ restarted (down ${((Date.now() - begun) / 1000).toFixed(1)} s)`;
}

async function verify(
  platform: LocalPlatform,
  graph: GraphFake,
  drivers: DriverResource[],
  run: {
    durationMs: number;
    attempted: number;
    accepted: number;
    retries: number;
    retriedAnswers: Record<string, number>;
    faults: string[];
    crashes: string[];
    firstAcceptedAfterDatabaseMs?: number;
  },
): Promise<ChaosReport> {
  const active = drivers.filter((driver) => driver.status === 'ACTIVE');
  const failed = drivers.filter((driver) => driver.status === 'FAILED');
  const stillPending = drivers.filter((driver) => driver.status === 'PENDING').length;
  const mailCount = (driver: DriverResource) => platform.mail.distinctMailsTo(driver.email).length;
  const resends = (driver: DriverResource) => platform.mail.mailsTo(driver.email).length - mailCount(driver);
  const accountCount = (driver: DriverResource) => graph.findByEmail(driver.email).length;
  const activeEmails = new Set(active.map((driver) => driver.email));
  const orphanAccounts = [...graph.users.values()].filter(
    (user) => !user.identities.some((identity) => activeEmails.has(identity.issuerAssignedId)),
  ).length;
  let missingNotifications = 0;
  const notifiedDrivers = await notifiedActivations(platform);
  for (const driver of active) if ((notifiedDrivers.get(driver.id) ?? 0) !== 1) missingNotifications += 1;
  const incompleteTimelines = await incompleteTimelinesOf(platform, [...active, ...failed]);

  const report: ChaosReport = {
    durationMs: run.durationMs,
    registrationsAttempted: run.attempted,
    registrationsAccepted: run.accepted,
    clientRetries: run.retries,
    retriedAnswers: run.retriedAnswers,
    drivers: drivers.length,
    active: active.length,
    failed: failed.length,
    stillPending,
    lost: Math.max(0, run.accepted - drivers.length),
    duplicateMails: active.filter((driver) => mailCount(driver) > 1).length,
    smtpResends: drivers.reduce((sum, driver) => sum + resends(driver), 0),
    missingMails: active.filter((driver) => mailCount(driver) === 0).length,
    mailsForFailedDrivers: failed.filter((driver) => mailCount(driver) > 0).length,
    duplicateAccounts: active.filter((driver) => accountCount(driver) > 1).length,
    missingAccounts: active.filter((driver) => accountCount(driver) === 0).length,
    orphanAccounts,
    missingNotifications,
    incompleteTimelines,
    parked: (await listParked(platformParkedTables(platform.databaseUrl))).length,
    ...(run.firstAcceptedAfterDatabaseMs === undefined ? {} : { firstAcceptedAfterDatabaseMs: run.firstAcceptedAfterDatabaseMs }),
    faults: run.faults,
    crashes: run.crashes,
    ok: false,
  };
  report.ok =
    report.lost === 0 &&
    report.stillPending === 0 &&
    report.duplicateMails === 0 &&
    report.missingMails === 0 &&
    report.mailsForFailedDrivers === 0 &&
    report.duplicateAccounts === 0 &&
    report.missingAccounts === 0 &&
    report.orphanAccounts === 0 &&
    report.missingNotifications === 0 &&
    report.incompleteTimelines === 0 &&
    report.parked === 0 &&
    report.crashes.length === 0 &&
    report.drivers >= run.accepted;
  return report;
}

/**
 * The settled drivers whose registration timeline in the operations service is not complete (every step its
 * outcome needs: for ACTIVE registered, account created, activated, welcome mail sent, admins notified). The
 * audit copies may trail the saga a little (operations was killed too), so incomplete ones are asked again for up
 * to a minute before they count.
 */
async function incompleteTimelinesOf(platform: LocalPlatform, drivers: readonly DriverResource[]): Promise<number> {
  let incomplete = drivers.map((driver) => driver.id);
  const deadline = Date.now() + 60_000;
  for (let round = 0; round < 1_000 && incomplete.length > 0; round += 1) {
    const still: string[] = [];
    for (const driverId of incomplete) {
      const response = await platform.api('GET', `/v1/operations/registrations/${driverId}/timeline`).catch(() => undefined);
      if (response?.status !== 200 || response.body.complete !== true) still.push(driverId);
    }
    incomplete = still;
    if (incomplete.length === 0 || Date.now() > deadline) break;
    await sleep(2_000);
  }
  return incomplete.length;
}

/** driver id → number of `driver.activated` notifications (one admin recipient by default). */
async function notifiedActivations(platform: LocalPlatform): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const item of (await platform.allNotifications()) as { type: string; driverId: string }[]) {
    if (item.type === 'driver.activated') counts.set(item.driverId, (counts.get(item.driverId) ?? 0) + 1);
  }
  return counts;
}

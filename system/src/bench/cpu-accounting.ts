import { readFileSync, readdirSync } from 'node:fs';
import type pg from 'pg';

/** Linux's USER_HZ: /proc reports CPU time in hundredths of a second. */
const TICKS_PER_SECOND = 100;

/** utime + stime of a process, in clock ticks; 0 once it is gone. */
export function processTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/**
 * The RabbitMQ node's Erlang VM (`beam.smp`); undefined when it is not visible. `rabbitmqctl` runs a
 * short-lived `beam.smp` of its own (the tests' vhost set-up calls it), so the oldest one is the node.
 */
export function rabbitmqPid(): number | undefined {
  let oldest: { pid: number; startedAt: number } | undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'beam.smp') continue;
      const startedAt = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]);
      if (!oldest || startedAt < oldest.startedAt) oldest = { pid: Number(entry), startedAt };
    } catch {
      // exited while listed
    }
  }
  return oldest?.pid;
}

/** Busy ticks of the whole machine (every core, every process: the other developers' too). */
function machineBusyTicks(): number {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return user! + nice! + system! + irq! + softirq! + steal!;
}

/** Who to measure: client processes by name, and the PostgreSQL backends serving each client's connections. */
export interface CpuSubjects {
  processes: Record<string, number>;
  /** Per client, the local ports of its connections to PostgreSQL (pg_stat_activity's client_port). */
  databasePorts: Record<string, number[]>;
}

interface CpuSample {
  processes: Record<string, number>;
  backends: Record<string, Map<number, number>>;
  rabbitmq: number;
  machine: number;
}

/** CPU milliseconds per registration over a measured window, by process, PostgreSQL backend group and broker. */
export interface CpuFigures {
  /** Each client process (a service, or a bare process). */
  processes: Record<string, number>;
  /** The PostgreSQL backends of each client's connections. */
  postgres: Record<string, number>;
  postgresTotal: number;
  /** The whole RabbitMQ node: shared with other users of the server, so other load inflates it. */
  rabbitmq: number;
  /** Processes + PostgreSQL + RabbitMQ: the machine CPU the work needed. */
  total: number;
  /** Every core's busy time over the window, whoever used it (the load generator and other developers too). */
  machineBusy: number;
}

/**
 * Reads CPU time from /proc before and after a window. PostgreSQL is shared with other developers, so only
 * the backends serving the measured clients' own connections count (matched by client port in
 * pg_stat_activity); a backend that exits during the window takes its time with it (pools keep theirs).
 */
export class CpuMeter {
  private readonly rabbitmq = rabbitmqPid();

  constructor(private readonly admin: pg.Client) {}

  async sample(subjects: CpuSubjects): Promise<CpuSample> {
    const ports = Object.values(subjects.databasePorts).flat();
    const { rows } = await this.admin.query<{ pid: number; client_port: number }>(
      `select pid, client_port from pg_stat_activity where client_addr is not null and client_port = any($1::int[])`,
      [ports],
    );
    const backendOf = new Map(rows.map((row) => [row.client_port, row.pid]));
    const backends: Record<string, Map<number, number>> = {};
    for (const [name, clientPorts] of Object.entries(subjects.databasePorts)) {
      backends[name] = new Map(
        clientPorts.flatMap((port) => {
          const pid = backendOf.get(port);
          return pid ? [[pid, processTicks(pid)] as const] : [];
        }),
      );
    }
    return {
      processes: Object.fromEntries(Object.entries(subjects.processes).map(([name, pid]) => [name, processTicks(pid)])),
      backends,
      rabbitmq: this.rabbitmq ? processTicks(this.rabbitmq) : 0,
      machine: machineBusyTicks(),
    };
  }

  /** The window's CPU per registration, in milliseconds. */
  static perRegistration(before: CpuSample, after: CpuSample, registrations: number): CpuFigures {
    const ms = (ticks: number) => (registrations > 0 ? Math.round(((ticks / TICKS_PER_SECOND) * 1000 * 100) / registrations) / 100 : 0);
    const processes = Object.fromEntries(Object.entries(after.processes).map(([name, ticks]) => [name, ms(ticks - (before.processes[name] ?? 0))]));
    const postgres = Object.fromEntries(
      Object.entries(after.backends).map(([name, pids]) => {
        let ticks = 0;
        for (const [pid, now] of pids) ticks += now - (before.backends[name]?.get(pid) ?? 0);
        return [name, ms(ticks)];
      }),
    );
    const sum = (values: Record<string, number>) => Object.values(values).reduce((total, value) => total + value, 0);
    const postgresTotal = Math.round(sum(postgres) * 100) / 100;
    const rabbitmq = ms(after.rabbitmq - before.rabbitmq);
    return {
      processes,
      postgres,
      postgresTotal,
      rabbitmq,
      total: Math.round((sum(processes) + postgresTotal + rabbitmq) * 100) / 100,
      machineBusy: ms(after.machine - before.machine),
    };
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { BACKEND_SERVICES, SERVICES, serviceUrlVariable, type ServiceName } from '@onboarding/contracts';

export interface SystemOptions {
  databaseUrl: string;
  amqpUrl: string;
  smtpUrl: string;
  ports: Record<ServiceName, number>;
  /** Folder for one log file per service. */
  logDirectory: string;
  /** Extra environment for every service (LOG_LEVEL, OTEL_*, ...). */
  env?: Record<string, string>;
  /** Database URL per service (the bench counts each one's round trips); services not listed use `databaseUrl`. */
  serviceDatabaseUrls?: Partial<Record<ServiceName, string>>;
  /** Broker URL per service (its own least-privilege user); services not listed use `amqpUrl`. */
  serviceAmqpUrls?: Partial<Record<ServiceName, string>>;
  /** Restart a service that exits on its own (a supervisor's job in production). */
  restartOnCrash?: boolean;
  /** Write a V8 CPU profile of each service, `<service>.cpuprofile`, into this folder when it exits. */
  cpuProfileDirectory?: string;
  onEvent?: (message: string) => void;
}

interface Running {
  child: ChildProcess;
  log: WriteStream;
  exited: Promise<number | null>;
}

export function serviceEntryPoint(name: ServiceName): string {
  return join(dirname(require.resolve(`@onboarding/${name}/package.json`)), 'dist', 'main.js');
}

/** Every service of the platform (contracts' SERVICES), started as it would be deployed: one OS process per service. */
export class SystemProcesses {
  private readonly running = new Map<ServiceName, Running>();
  private stopping = false;

  constructor(private readonly options: SystemOptions) {
    mkdirSync(options.logDirectory, { recursive: true });
  }

  /** Process ids of the running services (for RSS and CPU readings). */
  pids(): Partial<Record<ServiceName, number>> {
    return Object.fromEntries([...this.running.entries()].map(([name, entry]) => [name, entry.child.pid]));
  }

  url(name: ServiceName): string {
    return `http://127.0.0.1:${this.options.ports[name]}`;
  }

  get gatewayUrl(): string {
    return this.url('gateway');
  }

  logFile(name: ServiceName): string {
    return join(this.options.logDirectory, `${name}.log`);
  }

  private environment(name: ServiceName): NodeJS.ProcessEnv {
    const { ports } = this.options;
    const base: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.options.env,
      DATABASE_URL: this.options.serviceDatabaseUrls?.[name] ?? this.options.databaseUrl,
      AMQP_URL: this.options.serviceAmqpUrls?.[name] ?? this.options.amqpUrl,
      HOST: '127.0.0.1',
      PORT: String(ports[name]),
    };
    if (name === 'gateway') {
      return {
        ...base,
        ...Object.fromEntries(BACKEND_SERVICES.map((backend) => [serviceUrlVariable(backend.name), this.url(backend.name)])),
      };
    }
    if (name === 'operations') {
      // The overview reads every other service's /readyz and /metrics, the gateway's included.
      return {
        ...base,
        ...Object.fromEntries(SERVICES.filter((other) => other.name !== name).map((other) => [serviceUrlVariable(other.name), this.url(other.name)])),
      };
    }
    return { ...base, ...(name === 'mailer' ? { SMTP_URL: this.options.smtpUrl } : {}) };
  }

  /** Starts the services behind the gateway, waits until each is ready, then the gateway. */
  async start(timeoutMs = 60_000): Promise<void> {
    const backends = BACKEND_SERVICES.map((entry) => entry.name);
    for (const name of backends) this.spawn(name);
    await Promise.all(backends.map((name) => this.waitReady(name, timeoutMs)));
    this.spawn('gateway');
    await this.waitReady('gateway', timeoutMs);
  }

  spawn(name: ServiceName): void {
    const log = createWriteStream(this.logFile(name), { flags: 'a' });
    // `--cpu-prof` is refused in NODE_OPTIONS, so it goes on the command line.
    const profile = this.options.cpuProfileDirectory
      ? ['--cpu-prof', `--cpu-prof-dir=${this.options.cpuProfileDirectory}`, `--cpu-prof-name=${name}.cpuprofile`]
      : [];
    const child = spawn(process.execPath, [...profile, serviceEntryPoint(name)], {
      env: this.environment(name),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    this.running.set(name, { child, log, exited });
    void exited.then((code) => {
      if (this.running.get(name)?.child !== child) return;
      this.running.delete(name);
      if (this.stopping) return;
      this.options.onEvent?.(`${name} exited with code ${code}; see ${this.logFile(name)}`);
      if (this.options.restartOnCrash) setTimeout(() => !this.stopping && this.spawn(name), 1_000);
    });
  }

  /**
   * Polls the service's readiness endpoint until it answers 200 with status `ready`: serving HTTP and every
   * observed dependency up (its broker connection and consumer; the gateway: every upstream it routes to). A
   * `degraded` instance would take traffic in production, but whoever starts the platform and drives load at
   * once (npm start, the tests, the chaos run, the benchmark) waits for the whole of it.
   */
  async waitReady(name: ServiceName, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running.has(name) && !this.options.restartOnCrash) {
        throw new Error(`${name} exited during start-up; see ${this.logFile(name)}`);
      }
      try {
        const response = await fetch(`${this.url(name)}/readyz`, { signal: AbortSignal.timeout(2_000) });
        const { status } = (await response.json()) as { status?: string };
        if (response.ok && status === 'ready') {
          this.options.onEvent?.(`${name} ready at ${this.url(name)}`);
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${name} was not ready within ${timeoutMs} ms; see ${this.logFile(name)}`);
  }

  /** Kills one service the hard way (SIGKILL: no drain, no goodbye) and waits for it to be gone. */
  async kill(name: ServiceName, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const entry = this.running.get(name);
    if (!entry) return;
    this.running.delete(name);
    entry.child.kill(signal);
    await entry.exited;
    entry.log.end();
  }

  async restart(name: ServiceName, timeoutMs = 60_000): Promise<void> {
    await this.kill(name);
    this.spawn(name);
    await this.waitReady(name, timeoutMs);
  }

  /** Stops every process gracefully (SIGTERM, then SIGKILL after the deadline). */
  async stop(deadlineMs = 15_000): Promise<void> {
    this.stopping = true;
    const entries = [...this.running.entries()];
    this.running.clear();
    await Promise.all(
      entries.map(async ([, entry]) => {
        entry.child.kill('SIGTERM');
        const timer = setTimeout(() => entry.child.kill('SIGKILL'), deadlineMs);
        await entry.exited;
        clearTimeout(timer);
        entry.log.end();
      }),
    );
  }
}

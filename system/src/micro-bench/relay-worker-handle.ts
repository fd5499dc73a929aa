import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  SETTINGS_VARIABLE,
  isWorkerMessage,
  type ParentMessage,
  type WorkerMessage,
  type WorkerRole,
  type WorkerSettings,
} from './relay-worker-protocol';

/** The worker processes' file, compiled: under ts-jest `__filename` is the TypeScript source, which node cannot run. */
function workerEntryPoint(): string {
  const entry = __filename.endsWith('.js')
    ? join(__dirname, 'relay-worker.js')
    : join(__dirname, '..', '..', 'dist', 'micro-bench', 'relay-worker.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build the system package first (npx tsc -p tsconfig.build.json)`);
  return entry;
}

/** The benchmark's handle on one worker process: its messages, in order, and its end. */
export class WorkerProcess {
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private readonly waiting = new Set<(message: WorkerMessage) => void>();
  /** Messages that came before anyone asked for them. */
  private readonly unclaimed: WorkerMessage[] = [];

  constructor(role: WorkerRole, settings: WorkerSettings) {
    this.child = fork(workerEntryPoint(), [role], {
      env: { ...process.env, [SETTINGS_VARIABLE]: JSON.stringify(settings) },
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    // A send racing the worker's exit fails with EPIPE; the exit itself is reported below.
    this.child.on('error', () => undefined);
    this.child.on('message', (message: unknown) => {
      if (isWorkerMessage(message)) this.dispatch(message);
    });
    void this.exited.then(() => this.dispatch({ kind: 'failed', error: `the ${role} process exited` }));
  }

  private dispatch(message: WorkerMessage): void {
    if (this.waiting.size === 0) this.unclaimed.push(message);
    for (const deliver of this.waiting) deliver(message);
  }

  /** The next message of the given kind; throws on a failure report, an exit or after `timeoutMs`. */
  next<K extends WorkerMessage['kind']>(kind: K, timeoutMs: number): Promise<Extract<WorkerMessage, { kind: K }>> {
    const early = this.unclaimed.findIndex((message) => message.kind === kind || message.kind === 'failed');
    if (early >= 0) {
      const [message] = this.unclaimed.splice(early, 1);
      if (message?.kind === kind) return Promise.resolve(message as Extract<WorkerMessage, { kind: K }>);
      return Promise.reject(new Error(message?.kind === 'failed' ? message.error : 'worker failed'));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(() => reject(new Error(`no "${kind}" from a worker within ${timeoutMs} ms`))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.waiting.delete(deliver);
        settle();
      };
      const deliver = (message: WorkerMessage) => {
        if (message.kind === kind) finish(() => resolve(message as Extract<WorkerMessage, { kind: K }>));
        else if (message.kind === 'failed') finish(() => reject(new Error(message.error)));
      };
      this.waiting.add(deliver);
    });
  }

  requestStop(): void {
    if (this.child.connected) this.child.send({ kind: 'stop' } satisfies ParentMessage);
  }

  /** Asks the worker to stop and waits for it; kills it when it does not go in time. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.requestStop();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

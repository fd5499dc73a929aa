/**
 * What the relay-lag benchmark and its worker processes tell each other over the IPC channel, and the clock
 * both sides time with. The relay runs in a process of its own, as in a service, and so does the producer:
 * committing 1,000 rows/s through MikroORM takes most of one core, and sharing an event loop with it would
 * measure the producer's CPU, not the relay.
 */

/**
 * Milliseconds on CLOCK_MONOTONIC, which every process of the machine shares (unlike `performance.now()`,
 * which counts from each process's start): commits are timed in the producer's process, arrivals in the benchmark's.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export type WorkerRole = 'relay' | 'producer';
export type ProducerMode = 'outbox' | 'direct';

export interface WorkerSettings {
  databaseUrl: string;
  amqpUrl: string;
  schema: string;
  mode: ProducerMode;
  ratePerSecond: number;
  warmupMs: number;
  durationMs: number;
}

/** [message id, commit time (monotonicMs), scheduled after the warm-up] */
export type CommitRecord = [string, number, boolean];

export type WorkerMessage =
  { kind: 'ready' } | { kind: 'produced'; commits: CommitRecord[]; skipped: number; failed: number } | { kind: 'failed'; error: string };

export type ParentMessage = { kind: 'stop' };

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return typeof value === 'object' && value !== null && 'kind' in value && typeof value.kind === 'string';
}

export function isParentMessage(value: unknown): value is ParentMessage {
  return typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'stop';
}

export const SETTINGS_VARIABLE = 'MICRO_BENCH_WORKER_SETTINGS';

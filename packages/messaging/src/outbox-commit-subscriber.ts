import {
  ChangeSetType,
  type EntityManager,
  type EventSubscriber,
  type FlushEventArgs,
  type MikroORM,
  type TransactionEventArgs,
} from '@mikro-orm/core';
import type { Logger } from 'pino';
import type { CommittedOutboxRow } from './committed-outbox-publisher';
import { OutboxMessage } from './outbox';

/**
 * Hands every OutboxMessage row an ORM transaction inserted to `handOver` once that transaction has committed, and
 * drops it when it rolls back. Registered on the ORM's event manager, so it sees every unit of work of the service:
 * a flush on its own (register-driver: the flush is its own transaction), `inTransaction` and `em.transactional`
 * (the HTTP use cases, the erasure), and a consumer's `context.commit`.
 *
 * How: `onFlush` notes the rows a flush is about to insert and the transaction it runs in; `afterFlush` (only after
 * the flush succeeded) either hands them over — the flush opened and committed its own transaction — or files them
 * under the caller's transaction; `afterTransactionCommit` of that transaction hands them over, and
 * `afterTransactionRollback` forgets them. Rows flushed inside a savepoint (a nested transaction) are not handed
 * over: the savepoint's outcome does not settle theirs, and the relay publishes them after its grace period.
 */
export class OutboxCommitSubscriber implements EventSubscriber {
  /** Rows of the flush under way, per EntityManager (a fork's flushes run one after another). */
  private readonly flushing = new WeakMap<EntityManager, { transaction: TransactionHandle | undefined; rows: CommittedOutboxRow[] }>();
  /** Rows flushed into a transaction that has not ended yet. */
  private readonly staged = new WeakMap<TransactionHandle, CommittedOutboxRow[]>();

  constructor(
    private readonly handOver: (rows: CommittedOutboxRow[]) => void,
    private readonly logger: Logger,
  ) {}

  onFlush({ em, uow }: FlushEventArgs): void {
    const rows: CommittedOutboxRow[] = [];
    for (const changeSet of uow.getChangeSets()) {
      if (changeSet.type !== ChangeSetType.CREATE || !(changeSet.entity instanceof OutboxMessage)) continue;
      const { id, routingKey, payload, headers, createdAt } = changeSet.entity;
      rows.push({ id, routingKey, payload, headers, createdAt });
    }
    if (rows.length === 0) this.flushing.delete(em);
    else this.flushing.set(em, { transaction: em.isInTransaction() ? em.getTransactionContext<TransactionHandle>() : undefined, rows });
  }

  afterFlush({ em }: FlushEventArgs): void {
    const flushed = this.flushing.get(em);
    if (!flushed) return;
    this.flushing.delete(em);
    const { transaction, rows } = flushed;
    if (transaction === undefined) {
      this.handOverSafely(rows); // the flush ran in a transaction of its own, committed by now
      return;
    }
    if (isSavepoint(transaction)) return;
    const staged = this.staged.get(transaction);
    if (staged) staged.push(...rows);
    else this.staged.set(transaction, rows);
  }

  afterTransactionCommit(args: TransactionEventArgs): void {
    const transaction = args.transaction as TransactionHandle | undefined;
    if (!transaction) return;
    const rows = this.staged.get(transaction);
    if (!rows) return;
    this.staged.delete(transaction);
    this.handOverSafely(rows);
  }

  afterTransactionRollback(args: TransactionEventArgs): void {
    const transaction = args.transaction as TransactionHandle | undefined;
    if (transaction) this.staged.delete(transaction);
  }

  /** The transaction has committed: nothing may make its commit look failed to the caller. */
  private handOverSafely(rows: CommittedOutboxRow[]): void {
    try {
      this.handOver(rows);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, rows: rows.length }, 'handing committed outbox rows over failed; the relay will publish them');
    }
  }
}

/** MikroORM types its transactions as `any`: only their identity (and a savepoint's name) is used here. */
type TransactionHandle = object;

function isSavepoint(transaction: TransactionHandle): boolean {
  return typeof (transaction as { savepointName?: unknown }).savepointName === 'string';
}

/**
 * Makes every commit of `orm` that inserted outbox rows hand them to `publisher` (see OutboxCommitSubscriber).
 * Forks share the ORM's event manager, so one registration covers every request's and every message's.
 */
export function publishOutboxAfterCommit(
  orm: MikroORM,
  publisher: { publishCommitted(rows: readonly CommittedOutboxRow[]): void },
  logger: Logger,
): OutboxCommitSubscriber {
  const subscriber = new OutboxCommitSubscriber((rows) => publisher.publishCommitted(rows), logger);
  orm.em.getEventManager().registerSubscriber(subscriber);
  return subscriber;
}

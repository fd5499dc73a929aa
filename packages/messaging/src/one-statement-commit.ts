import type { EntityManager } from '@mikro-orm/core';
import type { CloudEvent, EnvelopeOptions } from '@onboarding/contracts';
import { traceContextHeaders, validatedEnvelope, type OutgoingEvent } from './outbox';
import type { CommittedOutboxRow } from './committed-outbox-publisher';

/** An outbox row a one-statement commit wrote, as the publisher after commit takes it (its payload parsed). */
export interface StatementOutboxRow extends CommittedOutboxRow {
  payload: CloudEvent;
}

/**
 * One data-modifying statement of a handler's effect, run as a CTE of the commit's single statement. `?` marks a
 * parameter (the ORM's placeholder: values are quoted into the text by MikroORM, as for its own queries). Tables
 * are named with their schema (`MessageContext.schema`). Every CTE of a statement sees the same snapshot: an effect
 * does not see the rows another effect writes, only its RETURNING rows, by its `name`.
 */
export interface SqlEffect {
  /** The CTE's name, so that a later effect or an event (`onlyIf`, `dataFromEffects`) can use its RETURNING rows. */
  readonly name?: string;
  readonly sql: string;
  readonly params?: readonly unknown[];
  /**
   * The statement must return at least one row, or the whole commit fails with `StaleRowError` and nothing of it
   * stays: an update guarded by the version the handler read (`where id = ? and version = ?`) that matched nothing
   * because someone changed the row since, as the ORM's optimistic lock would.
   */
  readonly requireRows?: boolean;
}

/** An event written to the outbox by the same statement as the effect. */
export interface StatementEvent {
  readonly event: OutgoingEvent;
  readonly options: EnvelopeOptions;
  /** Written only when the effect of this name returned at least one row (an insert that was not a conflict). */
  readonly onlyIf?: string;
  /**
   * Fields of the event's `data` that the statement fills in from effects' RETURNING rows, as a jsonb SQL
   * expression per field (e.g. the ids an `on conflict do nothing` insert stored). The event is validated
   * against its contract with the values the handler passed, which must be of the same shape.
   */
  readonly dataFromEffects?: Readonly<Record<string, string>>;
}

/** A handler's whole commit: its effect as SQL and the events it emits. */
export interface StatementCommit {
  readonly effects?: readonly SqlEffect[];
  readonly events?: readonly StatementEvent[];
}

/** The statement and its parameters, in placeholder order. */
export interface BuiltStatement {
  sql: string;
  params: unknown[];
  /** The effects that must return rows (see `SqlEffect.requireRows`). */
  required: string[];
}

/** An effect that had to change a row changed none: the row changed since the handler read it. Retried. */
export class StaleRowError extends Error {
  constructor(readonly effects: readonly string[]) {
    super(`an effect that had to change a row changed none (${effects.join(', ')}): the row changed since it was read`);
    this.name = 'StaleRowError';
  }
}

const NAME = /^[a-z_][a-z0-9_]*$/;
const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INBOX_CTE = 'inbox_record';
const OUTBOX_CTE = 'outbox_rows';

/** The message a consumer's commit records in its inbox. */
export interface InboxRecord {
  consumer: string;
  messageId: string;
}

/**
 * Builds the single statement that records the message in the inbox (when there is one: an HTTP use case has
 * none), runs the effect and writes the outbox rows:
 *
 *     with inbox_record as (insert into inbox ... returning 1), <effects>, outbox_rows as (insert into outbox ...)
 *     select id, routing_key, payload, headers from outbox_rows
 *
 * Sent on its own (autocommit), one statement is one transaction and one round trip: no BEGIN, no COMMIT. The
 * inbox insert has no ON CONFLICT: a message already recorded makes the whole statement fail on the inbox's
 * primary key, so nothing of the effect or the outbox stays (a guard clause on every effect could be forgotten;
 * a failing statement cannot half-apply). The caller maps that violation to "already processed".
 * Events are validated against their contract and carry the active trace context, exactly as `addToOutbox` does.
 * `dataFromEffects` expressions are SQL text without parameters.
 */
export function buildStatementCommit(schema: string, commit: StatementCommit, inbox?: InboxRecord): BuiltStatement {
  const ctes: string[] = [];
  const params: unknown[] = [];
  if (inbox) {
    ctes.push(`"${INBOX_CTE}" as (insert into "${schema}"."inbox" ("consumer", "message_id") values (?, ?) returning 1)`);
    params.push(inbox.consumer, inbox.messageId);
  }
  const names = new Set<string>([INBOX_CTE, OUTBOX_CTE]);
  const required: string[] = [];
  let index = 0;
  for (const effect of commit.effects ?? []) {
    const name = effect.name ?? `effect_${index}`;
    index += 1;
    if (!NAME.test(name) || names.has(name)) throw new Error(`an effect needs a unique lower-case name, not "${name}"`);
    names.add(name);
    if (effect.requireRows) required.push(name);
    ctes.push(`"${name}" as (${effect.sql})`);
    // MikroORM quotes values into the text, and it would write an undefined one as the word `undefined`.
    params.push(...(effect.params ?? []).map((value) => (value === undefined ? null : value)));
  }

  const events = commit.events ?? [];
  let rowsQuery = 'select null as "id", null as "routing_key", null as "payload", null as "headers" where false';
  if (events.length > 0) {
    const headers = JSON.stringify(traceContextHeaders());
    const rows: string[] = [];
    for (const staged of events) {
      const envelope = validatedEnvelope(staged.event.contract, staged.event.data, staged.options);
      let payload = '?::jsonb';
      for (const [field, expression] of Object.entries(staged.dataFromEffects ?? {})) {
        if (!FIELD.test(field)) throw new Error(`"${field}" is not a data field name`);
        payload = `jsonb_set(${payload}, '{data,${field}}', (${expression}))`;
      }
      if (staged.onlyIf !== undefined && !names.has(staged.onlyIf)) throw new Error(`no effect is named "${staged.onlyIf}"`);
      const condition = staged.onlyIf === undefined ? '' : ` where exists (select from "${staged.onlyIf}")`;
      rows.push(`select ?::uuid, ?, ?, ${payload}, ?::jsonb${condition}`);
      params.push(envelope.id, envelope.type, staged.event.contract.routingKey, JSON.stringify(envelope), headers);
    }
    ctes.push(
      `"${OUTBOX_CTE}" as (insert into "${schema}"."outbox" ("id", "type", "routing_key", "payload", "headers") ${rows.join(' union all ')} returning "id", "routing_key", "payload", "headers")`,
    );
    rowsQuery = `select "id", "routing_key", "payload", "headers" from "${OUTBOX_CTE}"`;
  }
  // A required effect that returned no row makes `1 / count(*)` divide by zero, which fails the statement. Each
  // check is a branch of a UNION ALL, which PostgreSQL runs whatever the other branches return; its filter is
  // never true, so it adds no row. (Data-modifying CTEs run to completion whether the query reads them or not.)
  const checks = required.map((name) => ` union all select null, null, null, null where (select 1 / count(*) from "${name}") < 0`).join('');
  const sql = ctes.length > 0 ? `with ${ctes.join(', ')} ${rowsQuery}${checks}` : `${rowsQuery}${checks}`;
  return { sql, params, required };
}

/**
 * Runs a built statement on `em`'s connection, outside any transaction (the statement is its own), and returns
 * the outbox rows it wrote. A required effect that changed nothing fails it with `StaleRowError`; any other
 * error is converted as MikroORM converts its own (a DriverException keeps every field of the pg error, so
 * `isDatabaseUnreachable` and the inbox check read it as before).
 */
export async function executeStatementCommit(em: EntityManager, statement: BuiltStatement): Promise<StatementOutboxRow[]> {
  let result: unknown;
  try {
    result = await em.getConnection().execute(statement.sql, statement.params, 'all');
  } catch (err) {
    if (isRequiredRowsMissing(err, statement)) throw new StaleRowError(statement.required);
    // As the ORM's own writes throw them (a UniqueConstraintViolationException, …), with the pg error's fields.
    throw err instanceof Error ? em.getDriver().convertException(err) : err;
  }
  return committedOutboxRows(result);
}

/**
 * An HTTP use case's one-statement commit: its effect and the outbox rows of its events in one round trip, no
 * unit of work. Resolves to the outbox rows written (for `publishCommitted(rows)`).
 */
export async function writeInOneStatement(em: EntityManager, schema: string, commit: StatementCommit): Promise<StatementOutboxRow[]> {
  return executeStatementCommit(em, buildStatementCommit(schema, commit));
}

/** The outbox rows the statement returned, in the publisher's shape (pg parses jsonb columns). */
function committedOutboxRows(result: unknown): StatementOutboxRow[] {
  if (!Array.isArray(result)) return [];
  return (result as { id?: unknown; routing_key?: unknown; payload?: unknown; headers?: unknown }[])
    .filter((row) => typeof row.id === 'string')
    .map((row) => ({
      id: row.id as string,
      routingKey: String(row.routing_key),
      payload: row.payload as CloudEvent,
      headers: (row.headers ?? {}) as Record<string, string>,
    }));
}

/** The statement failed on a required effect's check (see `buildStatementCommit`): division by zero. */
function isRequiredRowsMissing(err: unknown, statement: BuiltStatement): boolean {
  return statement.required.length > 0 && typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '22012';
}

/** The statement failed on the inbox's primary key: this consumer already recorded the message. */
export function isInboxConflict(err: unknown, schema: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  // MikroORM's exceptions copy the pg error's fields (code, table, schema, constraint).
  const { code, table, schema: errorSchema } = err as { code?: unknown; table?: unknown; schema?: unknown };
  return code === '23505' && table === 'inbox' && errorSchema === schema;
}

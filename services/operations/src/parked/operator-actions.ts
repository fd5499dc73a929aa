import type { EntityManager } from '@mikro-orm/core';
import type { OperatorAction, OperatorActionKind, ParkedActionBody, ParkedActionResult, ParkedOutcome } from '@onboarding/contracts';

/** What one action did, as operations records it. */
export interface ActionRecord {
  subject: string;
  action: OperatorActionKind;
  dryRun: boolean;
  filter: ParkedActionBody;
  count: number;
  refused: number;
  failedServices: string[];
  results: ParkedActionResult['results'];
}

interface ActionRow {
  id: string;
  at: Date;
  subject: string;
  action: OperatorActionKind;
  dry_run: boolean;
  filter: ParkedActionBody;
  count: number;
  refused: number;
  failed_services: string[];
  results: ParkedActionResult['results'];
}

/** Records an operator action in operations' own table; returns its id. */
export async function recordAction(em: EntityManager, schema: string, record: ActionRecord): Promise<string> {
  const rows = (await em.getConnection().execute(
    `insert into "${schema}"."operator_action" ("subject", "action", "dry_run", "filter", "count", "refused", "failed_services", "results")
     values (?, ?, ?, cast(? as jsonb), ?, ?, cast(? as jsonb), cast(? as jsonb)) returning "id"::text as "id"`,
    [
      record.subject,
      record.action,
      record.dryRun,
      JSON.stringify(record.filter),
      record.count,
      record.refused,
      JSON.stringify(record.failedServices),
      JSON.stringify(record.results),
    ],
  )) as { id: string }[];
  return rows[0]!.id;
}

/** The newest actions first. */
export async function recentActions(em: EntityManager, schema: string, limit: number): Promise<OperatorAction[]> {
  const rows = await actionRows(em, schema, limit, false);
  return rows.map((row) => ({
    id: row.id,
    at: new Date(row.at).toISOString(),
    by: row.subject,
    action: row.action,
    dryRun: row.dry_run,
    filter: row.filter,
    count: row.count,
    refused: row.refused,
    failedServices: row.failed_services,
  }));
}

export interface LastAction {
  action: OperatorActionKind;
  at: string;
  by: string;
  outcome: ParkedOutcome;
}

/**
 * The latest real (not dry-run) action on each message among the newest `window` actions, keyed
 * `<service>/<id>`: what the Failures page shows beside a message. Older actions are not looked at (Known limits).
 */
export async function lastActions(em: EntityManager, schema: string, window: number): Promise<Map<string, LastAction>> {
  const last = new Map<string, LastAction>();
  for (const row of await actionRows(em, schema, window, true)) {
    for (const result of row.results) {
      const key = `${result.service}/${result.id}`;
      if (!last.has(key)) last.set(key, { action: row.action, at: new Date(row.at).toISOString(), by: row.subject, outcome: result.outcome });
    }
  }
  return last;
}

async function actionRows(em: EntityManager, schema: string, limit: number, realOnly: boolean): Promise<ActionRow[]> {
  return (await em.getConnection().execute(
    `select "id"::text as "id", "at", "subject", "action", "dry_run", "filter", "count", "refused", "failed_services", "results"
     from "${schema}"."operator_action" ${realOnly ? 'where not "dry_run"' : ''} order by "at" desc, "id" desc limit ?`,
    [limit],
  )) as ActionRow[];
}

import { Type, type Static, type TString } from '@sinclair/typebox';
import { SERVICES, service, serviceUrlVariable } from '@onboarding/contracts';
import { serviceEnv } from '@onboarding/service-kit';

export const OPERATIONS = service('operations');

/** The services operations looks at for the overview: every other one, the gateway included. */
export const WATCHED_SERVICES = SERVICES.filter((entry) => entry.name !== OPERATIONS.name);
type WatchedName = (typeof WATCHED_SERVICES)[number]['name'];
type WatchedUrlEnv = { [N in WatchedName as `${Uppercase<N>}_URL`]: TString };

/** `DRIVER_URL`, …, `GATEWAY_URL`: where operations reads each service's `/readyz` and `/metrics`, by default where it listens locally. */
const WatchedUrls = Object.fromEntries(
  WATCHED_SERVICES.map((entry) => [
    serviceUrlVariable(entry.name),
    Type.String({ pattern: '^https?://', default: `http://127.0.0.1:${entry.port}` }),
  ]),
) as WatchedUrlEnv;

export const OperationsEnv = Type.Object({
  ...serviceEnv(OPERATIONS),
  ...WatchedUrls,
  CONSUMER_PREFETCH: Type.Integer({ minimum: 1, maximum: 1000, default: 64 }),
  /** How long audit rows are kept, counted from their receipt. */
  AUDIT_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
  /** How long the record of each operator action on parked messages (who, when, what, outcome) is kept. */
  OPERATOR_ACTION_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 365 }),
  /** How often the purge of expired audit rows and operator actions runs. */
  AUDIT_PURGE_INTERVAL_MS: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 3_600_000 }),
  /** Rows deleted per statement by the purge, so a large backlog never holds one long transaction. */
  AUDIT_PURGE_BATCH: Type.Integer({ minimum: 1, maximum: 100_000, default: 5_000 }),
  /**
   * A link to a trace in the trace UI, `{traceId}` standing for the trace id, e.g.
   * `http://localhost:16686/trace/{traceId}` (Jaeger). Unset: timelines show trace ids without links.
   */
  TRACE_UI_URL: Type.Optional(Type.String({ pattern: '^https?://.*\\{traceId\\}' })),
  /** How long the overview waits for one service's `/readyz` or `/metrics`, and for the broker. */
  OVERVIEW_PROBE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 30_000, default: 2_000 }),
  /** How long a replay, archive or restore waits for one service's answer (a replay publishes and waits for confirms). */
  PARKED_ACTION_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 300_000, default: 30_000 }),
});
export type OperationsConfig = Static<typeof OperationsEnv>;

/** Where operations reaches a service (its `…_URL` variable). */
export function watchedUrl(config: OperationsConfig, name: WatchedName): string {
  return config[serviceUrlVariable(name) as keyof WatchedUrlEnv];
}

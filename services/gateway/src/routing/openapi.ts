import type { TSchema } from '@sinclair/typebox';
import {
  AccountView,
  DriverHistory,
  DriverPage,
  DriverView,
  ErasureView,
  NotificationPage,
  NotificationView,
  DriverListQuery,
  OperatorActionList,
  OperatorActionQuery,
  OverviewQuery,
  PageQuery,
  ParkedActionBody,
  ParkedActionResult,
  ParkedOverview,
  ParkedPage,
  ParkedPageQuery,
  ParkedQuery,
  Problem,
  RegisterDriverBody,
  RegistrationTimeline,
  SystemOverview,
  UpdateDriverBody,
} from '@onboarding/contracts';

/**
 * The document declares OpenAPI 3.1, whose Schema Object is JSON Schema 2020-12: the contract schemas go in
 * as TypeBox writes them (`const` for literals, `anyOf` with `type: 'null'`), the same schemas the services
 * validate with, rather than translated into 3.0's dialect, where `const` does not exist.
 */
const OPENAPI_VERSION = '3.1.0';

/** A contract schema as plain JSON Schema: TypeBox's symbols dropped, and its `$id`, which only names it for TypeBox. */
function jsonSchema(schema: TSchema): Record<string, unknown> {
  const { $id: _id, ...plain } = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
  return plain;
}

/** The named schemas client generators turn into types; operations refer to them. */
const SCHEMAS = {
  Problem,
  RegisterDriverBody,
  UpdateDriverBody,
  DriverView,
  DriverPage,
  DriverHistory,
  AccountView,
  NotificationView,
  NotificationPage,
  ErasureView,
  RegistrationTimeline,
  SystemOverview,
  ParkedOverview,
  ParkedPage,
  ParkedActionBody,
  ParkedActionResult,
  OperatorActionList,
} satisfies Record<string, TSchema>;
type SchemaName = keyof typeof SCHEMAS;

const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: SchemaName) => ({ 'application/json': { schema: ref(name) } });
const header = (description: string) => ({ description, schema: { type: 'string' } });

const PROBLEM_CONTENT = { 'application/problem+json': { schema: ref('Problem') } };
const problem = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: PROBLEM_CONTENT,
});

/** Statuses the gateway itself may answer on every `/v1` operation, whatever the service behind it does. */
const GATEWAY_PROBLEMS = {
  401: problem('Missing, forged or expired bearer token'),
  429: problem('Rate limit exceeded', { 'Retry-After': { description: 'Seconds until the client may call again', schema: { type: 'integer' } } }),
  500: problem('Unexpected error in the owning service'),
  502: problem('The owning service could not be reached or failed'),
  503: problem('The owning service is unavailable: its circuit breaker is open (retryAfterSeconds says for how long)'),
  504: problem('The owning service did not answer in time'),
};

/**
 * What the services answer for any request with a body (POST, PATCH, DELETE): fastify reads a body whatever the
 * route does with it, and the gateway measures it before proxying.
 */
const BODY_PROBLEMS = {
  413: problem("Body over the gateway's limit (1 MiB by default)"),
  415: problem('A body in a media type the service cannot read; send application/json'),
};

type Role = 'admin' | 'dispatcher';

interface OperationSpec {
  operationId: string;
  tag: string;
  summary: string;
  roles: readonly Role[];
  parameters?: readonly Record<string, unknown>[];
  body?: SchemaName;
  /** The successful answers. */
  answers: Record<number, Record<string, unknown>>;
  /** The operation's own refusals (400, 404, 409, …), each with what it means for this operation. */
  problems?: Record<number, string>;
}

/**
 * One operation with every status it can answer: its own answers and refusals, then 403 for a role it does not
 * admit, 413 and 415 when its method carries a body, and what the gateway answers on every route.
 */
function operation(method: 'get' | 'post' | 'patch' | 'delete', spec: OperationSpec): Record<string, unknown> {
  // An operation's own wording of a status the gateway also answers keeps the gateway's headers (429's Retry-After).
  const gatewayHeaders = (status: string) => (GATEWAY_PROBLEMS as Record<string, { headers?: Record<string, unknown> }>)[status]?.headers;
  const own = Object.fromEntries(
    Object.entries(spec.problems ?? {}).map(([status, description]) => [status, problem(description, gatewayHeaders(status))]),
  );
  return {
    operationId: spec.operationId,
    tags: [spec.tag],
    summary: spec.summary,
    description: `Roles: ${spec.roles.join(', ')}.`,
    ...(spec.parameters ? { parameters: spec.parameters } : {}),
    ...(spec.body ? { requestBody: { required: true, content: json(spec.body) } } : {}),
    responses: {
      ...spec.answers,
      403: problem(`The token carries none of the roles ${spec.roles.join(', ')}`),
      ...(method === 'get' ? {} : BODY_PROBLEMS),
      ...GATEWAY_PROBLEMS,
      ...own,
    },
  };
}

const uuidParameter = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string', format: 'uuid' } });
const pageParameters = Object.entries(jsonSchema(PageQuery).properties as Record<string, unknown>).map(([name, schema]) => ({
  name,
  in: 'query',
  required: false,
  schema,
}));
const ETAG = { ETag: header("The driver's version, quoted") };
const ANY: readonly Role[] = ['admin', 'dispatcher'];
const ADMIN: readonly Role[] = ['admin'];
const MALFORMED_ID = 'The id is not a UUID';
const queryParameters = (schema: TSchema) => {
  const { properties, required = [] } = jsonSchema(schema) as { properties: Record<string, unknown>; required?: string[] };
  return Object.entries(properties).map(([name, property]) => ({ name, in: 'query', required: required.includes(name), schema: property }));
};
const PARKED_ACTIONS = {
  replay:
    'Replay one parked message (service and id) or a group (service, queue, reason; each optional): with dryRun, only the count that would be replayed; else the outcome per message (replayed, or refused with why). Recorded as an operator action.',
  archive:
    'Archive one open parked message or a group (kept until retention, no longer listed as open); dryRun counts. Recorded as an operator action.',
  restore: 'Restore one archived parked message or a group to open; dryRun counts. Recorded as an operator action.',
} as const;
const BAD_ACTION = 'A body that is not JSON or not this shape, an id without its service, or a service that consumes nothing';
const BAD_PAGE = 'Bad paging input: limit out of range, an unknown parameter, or a cursor this API did not issue';

/**
 * The one OpenAPI document for client apps, built from the same contract schemas the services validate
 * requests with and answer in. `system/test/openapi.e2e.test.ts` drives every operation through the real
 * gateway and services and checks each answer against it.
 */
export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: 'Driver onboarding API',
      version,
      description:
        'The public API of the driver onboarding platform. Every error is RFC 9457 problem+json with a requestId. ' +
        'Registration is asynchronous: POST answers 202 with a PENDING driver; follow it with GET until ACTIVE or FAILED.',
    },
    tags: [
      { name: 'drivers', description: 'Driver registration and records (driver service)' },
      { name: 'identity', description: "Drivers' directory accounts (identity service)" },
      { name: 'notifications', description: 'Admin notifications (notification service)' },
      {
        name: 'operations',
        description: 'Registration timelines, the system overview, parked messages and operator actions (operations service)',
      },
    ],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: Object.fromEntries(Object.entries(SCHEMAS).map(([name, schema]) => [name, jsonSchema(schema)])),
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/drivers': {
        post: operation('post', {
          operationId: 'registerDriver',
          tag: 'drivers',
          summary: 'Register a driver',
          roles: ANY,
          body: 'RegisterDriverBody',
          answers: {
            202: {
              description: 'Registration accepted; the driver is PENDING',
              headers: { Location: header("The driver's URL"), ...ETAG },
              content: json('DriverView'),
            },
          },
          problems: {
            400: 'Invalid input, every invalid field listed in errors; or a body that is not JSON',
            409: 'The address belongs to a driver that is not FAILED or DELETED',
          },
        }),
        get: operation('get', {
          operationId: 'listDrivers',
          tag: 'drivers',
          summary: 'List drivers, oldest or newest first; filtered by status and a piece of a name or address',
          roles: ANY,
          parameters: [
            ...pageParameters,
            { name: 'status', in: 'query', required: false, schema: jsonSchema(DriverListQuery.properties.status) },
            {
              name: 'q',
              in: 'query',
              required: false,
              description: 'Case-insensitive piece of a first name, last name or address',
              schema: jsonSchema(DriverListQuery.properties.q),
            },
            {
              name: 'order',
              in: 'query',
              required: false,
              description: 'oldest (the default) or newest first; a cursor pages only in the order it was issued for',
              schema: jsonSchema(DriverListQuery.properties.order),
            },
          ],
          answers: { 200: { description: 'A page; nextCursor is null on the last one', content: json('DriverPage') } },
          problems: { 400: `${BAD_PAGE}; or a status that is not one, an empty or over-long q, or an order other than oldest or newest` },
        }),
      },
      '/v1/drivers/{id}': {
        parameters: [uuidParameter('id')],
        get: operation('get', {
          operationId: 'getDriver',
          tag: 'drivers',
          summary: 'Read a driver',
          roles: ANY,
          answers: { 200: { description: 'The driver', headers: ETAG, content: json('DriverView') } },
          problems: { 400: MALFORMED_ID, 404: 'No such driver' },
        }),
        patch: operation('patch', {
          operationId: 'updateDriver',
          tag: 'drivers',
          summary: 'Change an ACTIVE driver at the version you read (optimistic locking); changing email is for admins only',
          roles: ANY,
          body: 'UpdateDriverBody',
          answers: { 200: { description: 'The changed driver (version + 1)', headers: ETAG, content: json('DriverView') } },
          problems: {
            400: `${MALFORMED_ID}, or invalid input (every invalid field listed in errors)`,
            403: "The token carries none of the roles admin, dispatcher, or a non-admin changes the driver's email address",
            404: 'No such driver',
            409: 'stale-version (not the current version), not-active, or email-taken',
          },
        }),
        delete: operation('delete', {
          operationId: 'deleteDriver',
          tag: 'drivers',
          summary: 'Delete a driver (its directory account is deleted too)',
          roles: ANY,
          answers: { 200: { description: 'The DELETED driver', content: json('DriverView') } },
          problems: { 400: `${MALFORMED_ID}, or a body that is not JSON`, 404: 'No such driver', 409: 'Already deleted' },
        }),
      },
      '/v1/drivers/{id}/events': {
        parameters: [uuidParameter('id')],
        get: operation('get', {
          operationId: 'getDriverHistory',
          tag: 'drivers',
          summary: "The driver's saga history",
          roles: ANY,
          answers: { 200: { description: 'What happened, when, why, and who made each HTTP change', content: json('DriverHistory') } },
          problems: { 400: MALFORMED_ID, 404: 'No such driver' },
        }),
      },
      '/v1/drivers/{id}/erasure': {
        parameters: [uuidParameter('id')],
        post: operation('post', {
          operationId: 'eraseDriver',
          tag: 'drivers',
          summary: "Erase the driver's personal data everywhere (cannot be undone)",
          roles: ADMIN,
          answers: {
            202: {
              description: 'Erasure started: the audit record (IN_PROGRESS)',
              headers: { Location: header("The erasure's URL") },
              content: json('ErasureView'),
            },
            200: { description: 'Erasure already asked for: the audit record', content: json('ErasureView') },
          },
          problems: {
            400: `${MALFORMED_ID}, or a body that is not JSON`,
            403: "The token is not an admin's",
            404: 'No such driver',
            409: 'The driver is PENDING: erase it once its registration has settled',
          },
        }),
        get: operation('get', {
          operationId: 'getErasure',
          tag: 'drivers',
          summary: "The erasure's audit record: who asked, when, and each service's confirmation",
          roles: ADMIN,
          answers: { 200: { description: 'The audit record', content: json('ErasureView') } },
          problems: { 400: MALFORMED_ID, 403: "The token is not an admin's", 404: 'No erasure was asked for' },
        }),
      },
      '/v1/identity/accounts/{driverId}': {
        parameters: [uuidParameter('driverId')],
        get: operation('get', {
          operationId: 'getAccount',
          tag: 'identity',
          summary: "The driver's directory (B2C) account",
          roles: ADMIN,
          answers: { 200: { description: 'The account link', content: json('AccountView') } },
          problems: { 400: MALFORMED_ID, 404: 'No account, or it was deleted' },
        }),
      },
      '/v1/notifications': {
        get: operation('get', {
          operationId: 'listNotifications',
          tag: 'notifications',
          summary: 'Admin notifications, newest first',
          roles: ADMIN,
          parameters: [...pageParameters, { name: 'recipient', in: 'query', required: false, schema: { type: 'string', format: 'email' } }],
          answers: { 200: { description: 'A page; nextCursor is null on the last one', content: json('NotificationPage') } },
          problems: { 400: `${BAD_PAGE}; or a recipient that is not an address` },
        }),
      },
      '/v1/notifications/stream': {
        get: operation('get', {
          operationId: 'streamNotifications',
          tag: 'notifications',
          summary: 'Live notifications as Server-Sent Events (event: notification, data: a NotificationView)',
          roles: ADMIN,
          parameters: [
            {
              name: 'Last-Event-ID',
              in: 'header',
              required: false,
              description: 'The id of the last event received: the stream first sends every notification stored after it',
              schema: { type: 'string', pattern: '^[0-9]{1,18}$' },
            },
          ],
          answers: {
            200: {
              description:
                "An endless event stream; each event's id is the notification's position. It ends when the service cannot read the database or the client stops reading; reconnect with Last-Event-ID",
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            },
          },
          problems: {
            400: 'A Last-Event-ID that is not an id this stream sends',
            429: 'Rate limit exceeded, or the caller already holds the most streams one instance allows (STREAM_MAX_PER_SUBJECT)',
            503: "The owning service is unavailable (its breaker is open), or the gateway's or the service's streams are all taken",
          },
        }),
      },
      '/v1/notifications/{id}/read': {
        parameters: [uuidParameter('id')],
        post: operation('post', {
          operationId: 'markNotificationRead',
          tag: 'notifications',
          summary: 'Mark a notification read (idempotent: the first read time is kept)',
          roles: ADMIN,
          answers: { 200: { description: 'The notification', content: json('NotificationView') } },
          problems: { 400: `${MALFORMED_ID}, or a body that is not JSON`, 404: 'No such notification' },
        }),
      },
      '/v1/operations/registrations/{driverId}/timeline': {
        parameters: [uuidParameter('driverId')],
        get: operation('get', {
          operationId: 'getRegistrationTimeline',
          tag: 'operations',
          summary:
            "A registration's saga step by step, from the audit copy of every event: who did what, when, why, with retries, compensation and trace links",
          roles: ADMIN,
          answers: { 200: { description: 'The timeline, oldest step first', content: json('RegistrationTimeline') } },
          problems: { 400: MALFORMED_ID, 404: 'Operations has seen no event about this driver (or its audit copies expired)' },
        }),
      },
      '/v1/operations/overview': {
        get: operation('get', {
          operationId: 'getSystemOverview',
          tag: 'operations',
          summary: "Every service's readiness and breakers, outbox backlogs, queue depths, parked counts and saga outcomes over time",
          roles: ADMIN,
          parameters: Object.entries(jsonSchema(OverviewQuery).properties as Record<string, unknown>).map(([name, schema]) => ({
            name,
            in: 'query',
            required: false,
            schema,
          })),
          answers: { 200: { description: 'The overview', content: json('SystemOverview') } },
          problems: { 400: 'from not before to, more than 500 buckets, an unknown bucket or query parameter' },
        }),
      },
      '/v1/operations/parked': {
        get: operation('get', {
          operationId: 'listParkedMessages',
          tag: 'operations',
          summary:
            "Every consuming service's parked messages (open by default), grouped by service, queue and reason, each with its reason, scrubbed error, attempts, first and parked time, state and last operator action",
          roles: ADMIN,
          parameters: queryParameters(ParkedQuery),
          answers: {
            200: { description: 'The groups and messages; services that did not answer are listed as unreachable', content: json('ParkedOverview') },
          },
          problems: { 400: 'An unknown state, service or query parameter' },
        }),
      },
      '/v1/operations/parked/messages': {
        get: operation('get', {
          operationId: 'pageParkedMessages',
          tag: 'operations',
          summary:
            "One service's parked messages, newest first, a page at a time (before: the previous page's nextBefore): past the newest the overview lists",
          roles: ADMIN,
          parameters: queryParameters(ParkedPageQuery),
          answers: { 200: { description: 'A page; nextBefore is null on the last one', content: json('ParkedPage') } },
          problems: { 400: 'No service, an unknown one, or an unknown state or query parameter', 503: 'The service did not answer' },
        }),
      },
      ...Object.fromEntries(
        Object.entries(PARKED_ACTIONS).map(([action, summary]) => [
          `/v1/operations/parked/${action}`,
          {
            post: operation('post', {
              operationId: `${action}ParkedMessages`,
              tag: 'operations',
              summary,
              roles: ADMIN,
              body: 'ParkedActionBody',
              answers: { 200: { description: 'What was done (or would be), per message', content: json('ParkedActionResult') } },
              problems: { 400: BAD_ACTION },
            }),
          },
        ]),
      ),
      '/v1/operations/actions': {
        get: operation('get', {
          operationId: 'listOperatorActions',
          tag: 'operations',
          summary: 'Operator actions on parked messages, newest first: who, when, what, on which filter, dry run or not, and the counts',
          roles: ADMIN,
          parameters: queryParameters(OperatorActionQuery),
          answers: { 200: { description: 'The actions', content: json('OperatorActionList') } },
          problems: { 400: 'limit out of range or an unknown query parameter' },
        }),
      },
    },
  };
}

import type { TSchema } from '@sinclair/typebox';
import {
  AccountView,
  DriverHistory,
  DriverPage,
  DriverView,
  ErasureView,
  NotificationPage,
  NotificationView,
  PageQuery,
  Problem,
  RegisterDriverBody,
  UpdateDriverBody,
} from '@onboarding/contracts';

const json = (schema: TSchema) => ({ 'application/json': { schema: JSON.parse(JSON.stringify(schema)) as unknown } });
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const errors = {
  401: problem('Missing, forged or expired bearer token'),
  403: problem('The caller lacks the role this route needs'),
  429: problem('Rate limit exceeded; see Retry-After'),
  502: problem('The owning service failed'),
  503: problem('The owning service is unavailable (its circuit breaker is open)'),
};
const uuidParameter = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string', format: 'uuid' } });
const pageParameters = Object.entries((JSON.parse(JSON.stringify(PageQuery)) as { properties: Record<string, unknown> }).properties).map(
  ([name, schema]) => ({ name, in: 'query', required: false, schema }),
);
const ADMIN = 'Role: admin.';
const ANY = 'Roles: admin, dispatcher.';

/**
 * The one OpenAPI document for client apps, built from the same contract schemas the services validate
 * requests with and answer in.
 */
export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.0.3',
    info: {
      title: 'Driver onboarding API',
      version,
      description:
        'The public API of the driver onboarding platform. Every error is RFC 9457 problem+json with a requestId. ' +
        'Registration is asynchronous: POST answers 202 with a PENDING driver; follow it with GET until ACTIVE or FAILED.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Problem: JSON.parse(JSON.stringify(Problem)) as unknown },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/drivers': {
        post: {
          summary: `Register a driver. ${ANY}`,
          requestBody: { required: true, content: json(RegisterDriverBody) },
          responses: {
            202: {
              description: 'Registration accepted; the driver is PENDING',
              headers: { Location: { schema: { type: 'string' } } },
              content: json(DriverView),
            },
            400: problem('Invalid input, every invalid field listed'),
            409: problem('The address belongs to a driver that is not FAILED or DELETED'),
            413: problem('Body over 1 MiB'),
            ...errors,
          },
        },
        get: {
          summary: `List drivers, oldest first. ${ANY}`,
          parameters: pageParameters,
          responses: { 200: { description: 'A page', content: json(DriverPage) }, 400: problem('Bad paging input'), ...errors },
        },
      },
      '/v1/drivers/{id}': {
        parameters: [uuidParameter('id')],
        get: {
          summary: `Read a driver. ${ANY}`,
          responses: { 200: { description: 'The driver (ETag: its version)', content: json(DriverView) }, 404: problem('No such driver'), ...errors },
        },
        patch: {
          summary: `Change an ACTIVE driver at the version you read (optimistic locking). ${ANY} Changing email: admin only.`,
          requestBody: { required: true, content: json(UpdateDriverBody) },
          responses: {
            200: { description: 'The changed driver', content: json(DriverView) },
            400: problem('Invalid input'),
            404: problem('No such driver'),
            409: problem('Stale version, not ACTIVE, or address taken'),
            ...errors,
            403: problem("The caller lacks the role this route needs, or a non-admin changes the driver's email address"),
          },
        },
        delete: {
          summary: `Delete a driver (its directory account is deleted too). ${ANY}`,
          responses: {
            200: { description: 'The DELETED driver', content: json(DriverView) },
            404: problem('No such driver'),
            409: problem('Already deleted'),
            ...errors,
          },
        },
      },
      '/v1/drivers/{id}/events': {
        parameters: [uuidParameter('id')],
        get: {
          summary: `The driver's saga history. ${ANY}`,
          responses: { 200: { description: 'What happened, when and why', content: json(DriverHistory) }, 404: problem('No such driver'), ...errors },
        },
      },
      '/v1/drivers/{id}/erasure': {
        parameters: [uuidParameter('id')],
        post: {
          summary: `Erase the driver's personal data everywhere (cannot be undone). ${ADMIN}`,
          responses: {
            202: { description: 'Erasure started: the audit record (IN_PROGRESS)', content: json(ErasureView) },
            200: { description: 'Erasure already asked for: the audit record', content: json(ErasureView) },
            404: problem('No such driver'),
            409: problem('The driver is PENDING: erase it once its registration has settled'),
            ...errors,
          },
        },
        get: {
          summary: `The erasure's audit record: who asked, when, and each service's confirmation. ${ADMIN}`,
          responses: { 200: { description: 'The audit record', content: json(ErasureView) }, 404: problem('No erasure was asked for'), ...errors },
        },
      },
      '/v1/identity/accounts/{driverId}': {
        parameters: [uuidParameter('driverId')],
        get: {
          summary: `The driver's directory (B2C) account. ${ADMIN}`,
          responses: { 200: { description: 'The account link', content: json(AccountView) }, 404: problem('No account'), ...errors },
        },
      },
      '/v1/notifications': {
        get: {
          summary: `Admin notifications, newest first. ${ADMIN}`,
          parameters: [...pageParameters, { name: 'recipient', in: 'query', required: false, schema: { type: 'string', format: 'email' } }],
          responses: { 200: { description: 'A page', content: json(NotificationPage) }, 400: problem('Bad paging input'), ...errors },
        },
      },
      '/v1/notifications/stream': {
        get: {
          summary: `Live notifications as Server-Sent Events (event: notification, data: a notification). ${ADMIN}`,
          responses: { 200: { description: 'An endless event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors },
        },
      },
      '/v1/notifications/{id}/read': {
        parameters: [uuidParameter('id')],
        post: {
          summary: `Mark a notification read (idempotent). ${ADMIN}`,
          responses: { 200: { description: 'The notification', content: json(NotificationView) }, 404: problem('No such notification'), ...errors },
        },
      },
    },
  };
}

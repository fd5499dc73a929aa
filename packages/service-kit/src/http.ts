import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { validate, type Problem, type ValidationIssue } from '@onboarding/contracts';
import { isDatabaseUnreachable } from './database';
import { AppError } from './errors';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface HttpServerOptions {
  logger: Logger;
  bodyLimit?: number;
}

/**
 * A fastify instance with the conventions every service shares: request ids taken from (or added as)
 * `x-request-id`, inputs validated by the contract schemas through TypeBox, and every error answered as
 * RFC 9457 problem+json by one handler.
 */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    // The assertion is not redundant: it makes Fastify infer FastifyInstance<..., FastifyBaseLogger> (the type this
    // function returns) instead of FastifyInstance<..., pino.Logger>, which does not assign to it.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- it steers generic inference
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Errors the router raises before any route runs (a path escape that does not decode, a path segment past
    // maxParamLength) would otherwise be answered as fastify's own JSON: they are problems like any other.
    frameworkErrors: (error, request, reply) => {
      sendProblem(toAppError(error, request), request, reply);
    },
  });

  app.setValidatorCompiler(({ schema, httpPart }) => {
    const contract = schema as TSchema;
    const coerce = httpPart !== 'body';
    return (input: unknown) => {
      const candidate = coerce ? Value.Convert(contract, Value.Default(contract, Value.Clone(input))) : input;
      const result = validate(contract, candidate);
      if (!result.ok) return { error: AppError.validation(result.issues, httpPart ?? 'input') };
      const unstorable = unstorableText(result.value);
      return unstorable.length ? { error: AppError.validation(unstorable, httpPart ?? 'input') } : { value: result.value };
    };
  });

  // A graceful stop waits for every connection to close. close() drops the idle ones, but a keep-alive connection
  // whose request was still in flight becomes idle only later and would hold the stop until the client (the
  // gateway's connection pool, say) gave up on it: answers sent while closing tell the client to hang up.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
  });

  app.setErrorHandler((error: FastifyError | AppError, request, reply) => sendProblem(toAppError(error, request), request, reply));

  app.setNotFoundHandler((request, reply) =>
    sendProblem(AppError.notFound(`No route for ${request.method} ${request.url.split('?')[0]}`), request, reply),
  );

  return app;
}

/** Half of a surrogate pair: JSON and percent-encoding carry it, PostgreSQL text cannot hold it (nor U+0000). */
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Every string of a validated input that PostgreSQL would refuse to store or compare. Schemas say what a value
 * means; that any text at all may contain these is a property of the database, so it is checked once here rather
 * than in every pattern: the client gets a 400 naming the field instead of a database error (a 500).
 */
function unstorableText(value: unknown, path = ''): ValidationIssue[] {
  if (typeof value === 'string') {
    const storable = !value.includes('\u0000') && !UNPAIRED_SURROGATE.test(value);
    return storable ? [] : [{ path: path || '/', message: 'Expected text without U+0000 or unpaired surrogates' }];
  }
  if (Array.isArray(value)) return value.flatMap((item, index) => unstorableText(item, `${path}/${index}`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => unstorableText(item, `${path}/${key}`));
  }
  return [];
}

function toAppError(error: FastifyError | AppError, request: FastifyRequest): AppError {
  if (error instanceof AppError) return error;
  if (isDatabaseUnreachable(error)) {
    // Expected while the database is away and no bug of the request's: a warning, and an answer the client (and the
    // gateway's breaker, which counts 503) can act on. The pool replaces its connections once the server answers.
    request.log.warn({ err: error.message }, 'database unreachable');
    return new AppError({
      status: 503,
      code: 'database-unavailable',
      title: 'Service unavailable',
      detail: 'The database cannot be reached; try again shortly',
      extensions: { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS },
    });
  }
  const status = error.statusCode ?? 500;
  if (status >= 500) {
    request.log.error({ err: error }, 'unhandled error');
    return new AppError({ status: 500, code: 'internal', title: 'Internal server error', detail: 'An unexpected error occurred' });
  }
  const codes: Record<string, string> = {
    FST_ERR_CTP_BODY_TOO_LARGE: 'payload-too-large',
    FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
    FST_ERR_CTP_EMPTY_JSON_BODY: 'empty-body',
    FST_ERR_CTP_INVALID_JSON_BODY: 'invalid-json',
    FST_ERR_BAD_URL: 'invalid-url',
    FST_ERR_MAX_PARAM_LENGTH: 'uri-too-long',
  };
  const code = codes[error.code] ?? (error.code === undefined ? 'bad-request' : error.code.toLowerCase().replace(/_/g, '-'));
  const title = status === 413 ? 'Payload too large' : status === 414 ? 'URI too long' : status === 415 ? 'Unsupported media type' : 'Bad request';
  return new AppError({ status, code, title, detail: error.message });
}

/** What a 503 for an unreachable database tells the client to wait: short, since the pool reconnects at once. */
export const DATABASE_RETRY_AFTER_SECONDS = 1;

export function sendProblem(error: AppError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const problem: Problem & Record<string, unknown> = {
    type: `/problems/${error.code}`,
    title: error.title,
    status: error.statusCode,
    instance: request.url.split('?')[0],
    ...(error.detail !== undefined ? { detail: error.detail } : {}),
    ...(error.issues ? { errors: error.issues } : {}),
    ...error.extensions,
    requestId: request.id,
  };
  // A problem that says when to try again (an unreachable database, an open breaker) says it in the header too,
  // where clients and proxies look for it.
  if (typeof problem.retryAfterSeconds === 'number') reply.header('retry-after', String(Math.max(0, Math.ceil(problem.retryAfterSeconds))));
  return reply.status(error.statusCode).type(PROBLEM_CONTENT_TYPE).send(problem);
}

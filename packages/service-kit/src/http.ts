import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { validate, type Problem } from '@onboarding/contracts';
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
  });

  app.setValidatorCompiler(({ schema, httpPart }) => {
    const contract = schema as TSchema;
    const coerce = httpPart !== 'body';
    return (input: unknown) => {
      const candidate = coerce ? Value.Convert(contract, Value.Default(contract, Value.Clone(input))) : input;
      const result = validate(contract, candidate);
      return result.ok ? { value: result.value } : { error: AppError.validation(result.issues, httpPart ?? 'input') };
    };
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  app.setErrorHandler((error: FastifyError | AppError, request, reply) => sendProblem(toAppError(error, request), request, reply));

  app.setNotFoundHandler((request, reply) =>
    sendProblem(AppError.notFound(`No route for ${request.method} ${request.url.split('?')[0]}`), request, reply),
  );

  return app;
}

function toAppError(error: FastifyError | AppError, request: FastifyRequest): AppError {
  if (error instanceof AppError) return error;
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
  };
  const code = codes[error.code] ?? (error.code === undefined ? 'bad-request' : error.code.toLowerCase().replace(/_/g, '-'));
  const title = status === 413 ? 'Payload too large' : status === 415 ? 'Unsupported media type' : 'Bad request';
  return new AppError({ status, code, title, detail: error.message });
}

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
  return reply.status(error.statusCode).type(PROBLEM_CONTENT_TYPE).send(problem);
}

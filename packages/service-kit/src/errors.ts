import type { ValidationIssue } from '@onboarding/contracts';

export interface AppErrorOptions {
  status: number;
  /** Stable machine-readable code; also the last segment of the problem `type`. */
  code: string;
  title: string;
  detail?: string;
  issues?: ValidationIssue[];
  /** Extra problem members (RFC 9457 extensions). */
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

/** The one error shape every service raises; the HTTP error handler maps it once to problem+json. */
export class AppError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly title: string;
  readonly detail?: string;
  readonly issues?: ValidationIssue[];
  readonly extensions?: Record<string, unknown>;

  constructor(options: AppErrorOptions) {
    super(options.detail ?? options.title, { cause: options.cause });
    this.name = 'AppError';
    this.statusCode = options.status;
    this.code = options.code;
    this.title = options.title;
    this.detail = options.detail;
    this.issues = options.issues;
    this.extensions = options.extensions;
  }

  static validation(issues: ValidationIssue[], part = 'body'): AppError {
    return new AppError({
      status: 400,
      code: 'validation-failed',
      title: 'Request validation failed',
      detail: `The request ${part} is invalid: ${issues.map((issue) => `${issue.path} ${issue.message}`).join('; ')}`,
      issues,
    });
  }

  static badRequest(detail: string, code = 'bad-request'): AppError {
    return new AppError({ status: 400, code, title: 'Bad request', detail });
  }

  static notFound(detail: string): AppError {
    return new AppError({ status: 404, code: 'not-found', title: 'Not found', detail });
  }

  static conflict(detail: string, code = 'conflict'): AppError {
    return new AppError({ status: 409, code, title: 'Conflict', detail });
  }

  static unprocessable(detail: string, code = 'unprocessable'): AppError {
    return new AppError({ status: 422, code, title: 'Unprocessable request', detail });
  }

  static unavailable(detail: string, code = 'unavailable'): AppError {
    return new AppError({ status: 503, code, title: 'Service unavailable', detail });
  }
}

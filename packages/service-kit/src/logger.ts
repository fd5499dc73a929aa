import pino, { type Logger } from 'pino';

/**
 * Personal data never reaches the logs in clear: any `email` or `phone` field up to three levels deep
 * is censored, wherever a log call puts it.
 */
const PERSONAL_FIELDS = ['email', 'phone', 'recipient', 'to'];
const REDACT_PATHS = PERSONAL_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]);

export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** Masks an email for log lines that must say which address was meant: `j***@e***.com`. */
export function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  const [host = '', ...rest] = domain.split('.');
  return `${local.slice(0, 1)}***@${host.slice(0, 1)}***${rest.length ? `.${rest.join('.')}` : ''}`;
}

import type { FastifyInstance } from 'fastify';

/**
 * Swagger UI loads its scripts and styles from the gateway itself (no inline script), but styles elements inline
 * and draws icons as data: images: that is all this policy allows beyond 'self'. For JSON answers it only says
 * "nothing to run here".
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
].join('; ');

/**
 * The console is built without inline scripts or styles, so its pages get a stricter policy than Swagger UI's:
 * nothing but the gateway's own files, and no inline style either.
 */
export const CONSOLE_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
].join('; ');

/**
 * The headers every gateway answer carries, whoever produced it (an upstream, a problem, Swagger UI). Strict
 * Transport Security is sent always: browsers ignore it on plain HTTP (RFC 6797 §8.1), so it takes effect
 * exactly when clients reach the gateway over TLS (the ingress), and a development server on http is unharmed.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-permitted-cross-domain-policies': 'none',
};

/** Sets the security headers on every response just before it goes out (onSend runs for errors and proxied answers too). */
export function securityHeaders(http: FastifyInstance): void {
  http.addHook('onSend', async (request, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    if (request.url.startsWith('/admin')) reply.header('content-security-policy', CONSOLE_CONTENT_SECURITY_POLICY);
    return payload;
  });
}

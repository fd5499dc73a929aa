/**
 * Personal data (names, email addresses, phone numbers) must not leave a service through its logs, its
 * traces or the headers of parked messages. This module imports nothing, so the telemetry package can load it
 * (as `@onboarding/service-kit/personal-data`) before fastify and pg are required and instrumented.
 *
 * Free text is only scrubbed of what can be recognised in it (addresses, phone numbers); names cannot be, so
 * the rule for names is structural: they travel only in fields named for them, which the logger censors, and
 * no code puts event data or request bodies into a span, a log line or a header.
 */
const EMAIL_PATTERN = /[^\s@'"<>(),;:]+@[^\s@'"<>(),;:]+\.[a-z]{2,}/gi;
// Not inside a token: the digit groups of a UUID or an id (`…-9c3d-123456789012`) are not phone numbers.
const PHONE_PATTERN = /(?<![\w-])\+?\d[\d ()-]{5,}\d(?![\w-])/g;

/**
 * PostgreSQL's error details quote the values of a row (MikroORM appends them to its exceptions' messages):
 * `Key (email)=(…) already exists`, `Failing row contains (…, first name, last name, …)`. The columns are
 * kept, the values are not; names among them could not be recognised one by one.
 */
const ROW_VALUES_PATTERN = /\b(Failing row contains )\(.*\)/g;
const KEY_VALUES_PATTERN = /\b(Key \([^)]*\)=)\(.*?\)(?=\s+(?:already exists|is not present|is still referenced|conflicts with))/g;

/**
 * Masks email addresses, phone numbers and the row values PostgreSQL quotes in free text (error messages,
 * parked-message reasons, span attributes).
 */
export function scrubPersonalData(text: string): string {
  return text
    .replace(ROW_VALUES_PATTERN, '$1(…)')
    .replace(KEY_VALUES_PATTERN, '$1(…)')
    .replace(EMAIL_PATTERN, '[email]')
    .replace(PHONE_PATTERN, (digits) =>
      // keep timestamps and ids readable: only mask runs that look like a phone number (7 to 15 digits)
      /^\d{4}-\d{2}-\d{2}/.test(digits) || digits.replace(/\D/g, '').length > 15 ? digits : '[phone]',
    );
}

/** Fields that hold personal data wherever they appear in a logged object (the contracts' and the directory's names). */
export const PERSONAL_FIELDS: readonly string[] = [
  'firstName',
  'lastName',
  'givenName',
  'surname',
  'displayName',
  'email',
  'phone',
  'mobilePhone',
  'recipient',
  'to',
];

/**
 * Query parameters known to carry nothing personal, kept readable in URLs. Every other parameter's value is
 * masked: a new search or filter parameter is redacted until someone decides it is harmless.
 */
const HARMLESS_QUERY_PARAMETERS = new Set(['limit', 'cursor']);
export const REDACTED = 'REDACTED';

/** `a=1&q=ada` → `a=REDACTED&q=REDACTED` except for harmless parameters; without the leading `?`. */
export function redactQuery(query: string): string {
  if (!query) return query;
  return query
    .split('&')
    .map((pair) => {
      const separator = pair.indexOf('=');
      const key = separator < 0 ? pair : pair.slice(0, separator);
      if (HARMLESS_QUERY_PARAMETERS.has(safeDecode(key))) return pair;
      if (separator < 0) return pair ? REDACTED : pair; // a bare `?value` may be the value itself
      return `${key}=${REDACTED}`;
    })
    .join('&');
}

/** A URL or request target (`/v1/x?q=ada`, `http://host/x?q=ada`) with its query values redacted; the fragment dropped. */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart < 0) return url;
  const fragmentStart = url.indexOf('#', queryStart);
  const query = url.slice(queryStart + 1, fragmentStart < 0 ? undefined : fragmentStart);
  return `${url.slice(0, queryStart)}?${redactQuery(query)}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

import fc from 'fast-check';

/**
 * Strings a client may put where an id belongs: UUIDs (which must reach the database), near-UUIDs, control
 * characters (a NUL is a PostgreSQL error, not a value), lone surrogates, path tricks and long values.
 */
export const hostileIds: fc.Arbitrary<string> = fc.oneof(
  fc.uuid(),
  fc.uuid().map((uuid) => uuid.toUpperCase()),
  fc.uuid().map((uuid) => `${uuid}x`),
  fc.uuid().map((uuid) => uuid.replace(/-/g, '')),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 40 }).map((text) => `${text}\u0000`),
  fc.constantFrom('0', '-1', '1e309', 'null', 'true', '..', '%2e%2e', '\ud800', '00000000-0000-0000-0000-000000000000'),
  // Long, yet within the 16 KiB Node.js allows a request line: past it Node answers 431 before any service code.
  fc.nat({ max: 1_000 }).map((length) => 'a'.repeat(length)),
);

/** JSON values a forged cursor may carry in place of one of its fields. */
const hostileValues: fc.Arbitrary<unknown> = fc.oneof(
  hostileIds,
  fc.date({ noInvalidDate: false }).map((date) => (Number.isNaN(date.getTime()) ? 'Invalid Date' : date.toISOString())),
  fc.constantFrom('+275760-09-13T00:00:00.000Z', '-271821-04-20T00:00:00.000Z', '0000-01-01T00:00:00.000Z', '1970-01-01'),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 2 }),
);

const base64url = (text: string) => Buffer.from(text).toString('base64url');

/**
 * What a client may send as `cursor`, given one the API really issued: that cursor with each of its fields
 * swapped for a hostile value (a well-formed cursor with a bad inner id), with fields added or dropped, any JSON
 * at all encoded the same way, a cursor of another list (`foreign`), garbage base64 and raw strings.
 */
export function hostileCursors(issued: string, foreign: readonly string[] = []): fc.Arbitrary<string> {
  const fields = JSON.parse(Buffer.from(issued, 'base64url').toString('utf8')) as unknown[];
  return fc.oneof(
    fc
      .tuple(fc.nat({ max: Math.max(0, fields.length - 1) }), hostileValues)
      .map(([index, value]) => base64url(JSON.stringify(fields.map((field, at) => (at === index ? value : field))))),
    fc.constant(base64url(JSON.stringify(fields.slice(0, -1)))),
    hostileValues.map((value) => base64url(JSON.stringify([...fields, value]))),
    fc.jsonValue({ maxDepth: 3 }).map((value) => base64url(JSON.stringify(value))),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('base64url')),
    fc.string({ unit: 'binary', maxLength: 200 }),
    ...(foreign.length ? [fc.constantFrom(...foreign)] : []),
  );
}

/** Percent escapes that do not decode (truncated, not UTF-8): sent verbatim, where a value goes in a URL. */
export const brokenEscapes: fc.Arbitrary<string> = fc.constantFrom('%', '%ff', '%E0%A4%A', '%ED%A0%80', '%00', '%C0%AF');

/**
 * A value as a client may put it in a path segment or a query string: every UTF-8 byte but the unreserved ones
 * percent-encoded, so NULs, slashes and question marks arrive as part of the value (a lone surrogate arrives as
 * U+FFFD's bytes; encodeURIComponent would throw on it).
 */
export function queryValue(value: string): string {
  return [...Buffer.from(value, 'utf8')]
    .map((byte) => (/[\w.~-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0')}`))
    .join('');
}

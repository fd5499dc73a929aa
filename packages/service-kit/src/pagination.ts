import { AppError } from './errors';

/** The ids a keyset cursor may carry: every paged table is keyed by a UUID. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * What `Date.toISOString()` writes for years 1000 to 9999: the rows' timestamps are in that range, and outside it
 * JavaScript dates reach years PostgreSQL refuses (year 0, six-digit years).
 */
const ISO_INSTANT = /^[1-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** One list's keyset cursor over (createdAt, id): stable under concurrent inserts, opaque to clients. */
export interface KeysetCursor {
  encode(createdAt: Date, id: string): string;
  /** The position a cursor names; a 400 `invalid-cursor` for anything this list did not issue. */
  decode(cursor: string): { createdAt: Date; id: string };
}

/**
 * The cursor of the list named `list`. A cursor carries its list's name, and every field is checked before it
 * reaches a query: a cursor is client input, so one with a bad inner id, a date PostgreSQL cannot compare, or
 * issued by another list (whose positions mean nothing here) is the client's error, never a database error.
 */
export function keysetCursor(list: string): KeysetCursor {
  const invalid = () => AppError.badRequest(`The cursor is not one this API issued for ${list}`, 'invalid-cursor');
  return {
    encode: (createdAt, id) => Buffer.from(JSON.stringify([list, createdAt.toISOString(), id])).toString('base64url'),
    decode(cursor) {
      let fields: unknown;
      try {
        fields = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      } catch {
        throw invalid();
      }
      if (!Array.isArray(fields) || fields.length !== 3) throw invalid();
      const [owner, iso, id] = fields as unknown[];
      if (owner !== list || typeof iso !== 'string' || !ISO_INSTANT.test(iso) || typeof id !== 'string' || !UUID.test(id)) throw invalid();
      const createdAt = new Date(iso);
      // Canonical only: what encode() wrote reads back to the same text (no 30 February, no 25 o'clock).
      if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== iso) throw invalid();
      return { createdAt, id };
    },
  };
}

import { AppError } from './errors';

/** Keyset pagination cursor over (createdAt, id): stable under concurrent inserts, opaque to clients. */
export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const [iso, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    const createdAt = new Date(String(iso));
    if (typeof id !== 'string' || Number.isNaN(createdAt.getTime())) throw new Error('malformed');
    return { createdAt, id };
  } catch {
    throw AppError.badRequest('The cursor is not one this API issued', 'invalid-cursor');
  }
}

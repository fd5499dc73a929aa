import { scrubPersonalData } from '@onboarding/service-kit';

/**
 * The fields of an event's data operations keeps: ids, statuses, reasons, codes, counts, versions, languages and
 * times. Anything else (names, addresses, phone numbers, a notification's text, and whatever a later version of
 * a contract adds) is left out: an allowlist, so a new personal field in a contract is never stored by default.
 */
const KEPT_FIELDS: ReadonlySet<string> = new Set([
  'driverId',
  'b2cObjectId',
  'objectId',
  'status',
  'reason',
  'code',
  'version',
  'preferredLanguage',
  'language',
  'attempts',
  'removedMessages',
  'notificationType',
  'notificationIds',
  'recipientCount',
  'registeredAt',
  'activatedAt',
  'failedAt',
  'createdAt',
  'updatedAt',
  'deletedAt',
  'rejectedAt',
  'erasedAt',
  'sentAt',
  'notifiedAt',
]);

/** The audit copy of an event's data: the kept fields only, every text scrubbed of what looks like an address or a phone number. */
export function auditPayload(data: unknown): Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return {};
  const kept: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(data as Record<string, unknown>)) {
    if (!KEPT_FIELDS.has(field)) continue;
    const safe = safeValue(value);
    if (safe !== undefined) kept[field] = safe;
  }
  return kept;
}

function safeValue(value: unknown): unknown {
  if (typeof value === 'string') return scrubPersonalData(value).slice(0, 1000);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  if (Array.isArray(value))
    return value
      .slice(0, 1000)
      .filter((item): item is string => typeof item === 'string')
      .map((item) => scrubPersonalData(item));
  return undefined; // nested objects: none of the kept fields has one
}

/** `data.driverId` when it is a driver id (a UUID), so events can be found by driver. */
export function driverIdOf(data: unknown): string | null {
  const driverId = (data as { driverId?: unknown } | null)?.driverId;
  return typeof driverId === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(driverId)
    ? driverId.toLowerCase()
    : null;
}

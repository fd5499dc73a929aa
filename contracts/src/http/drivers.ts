import { Type, type Static } from '@sinclair/typebox';
import { DriverId, DriverStatus, Email, Language, PersonName, Phone, PhoneInput, Timestamp } from '../fields';
import { Page, PageQuery } from './pagination';

export const RegisterDriverBody = Type.Object(
  { firstName: PersonName, lastName: PersonName, email: Email, phone: PhoneInput, preferredLanguage: Type.Optional(Language) },
  { additionalProperties: false },
);
export type RegisterDriverBody = Static<typeof RegisterDriverBody>;

/** A change to an ACTIVE driver; `version` is the version the client last saw (optimistic locking). */
export const UpdateDriverBody = Type.Object(
  {
    version: Type.Integer({ minimum: 1 }),
    firstName: Type.Optional(PersonName),
    lastName: Type.Optional(PersonName),
    email: Type.Optional(Email),
    phone: Type.Optional(PhoneInput),
    preferredLanguage: Type.Optional(Language),
  },
  { additionalProperties: false, minProperties: 2 },
);
export type UpdateDriverBody = Static<typeof UpdateDriverBody>;

export const DriverIdParams = Type.Object({ id: DriverId }, { additionalProperties: false });
export type DriverIdParams = Static<typeof DriverIdParams>;

export const DriverView = Type.Object({
  id: DriverId,
  firstName: PersonName,
  lastName: PersonName,
  email: Email,
  phone: Phone,
  preferredLanguage: Language,
  status: DriverStatus,
  b2cObjectId: Type.Optional(Type.String()),
  failureReason: Type.Optional(Type.String()),
  version: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type DriverView = Static<typeof DriverView>;

/**
 * The driver list's filters on top of paging: `status` one status, `q` a piece of a first name, last name or
 * address (case-insensitive substring). The cursor pages within the filtered list.
 */
export const DriverListQuery = Type.Composite(
  [
    PageQuery,
    Type.Object({
      status: Type.Optional(DriverStatus),
      q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' })),
      /**
       * `oldest` (the default) or `newest` first. A cursor belongs to the order it was issued for: paging with it in the
       * other order is a 400 `invalid-cursor`.
       */
      order: Type.Optional(Type.Union([Type.Literal('oldest'), Type.Literal('newest')], { default: 'oldest' })),
    }),
  ],
  { additionalProperties: false },
);
export type DriverListQuery = Static<typeof DriverListQuery>;

export const DriverPage = Page(DriverView);
export type DriverPage = Static<typeof DriverPage>;

export const DriverHistoryEntry = Type.Object({
  type: Type.String(),
  at: Timestamp,
  status: DriverStatus,
  detail: Type.Optional(Type.String()),
  messageId: Type.Optional(Type.String()),
  /** The verified subject of the token that made the change over HTTP; absent for steps driven by a message. */
  actor: Type.Optional(Type.String()),
});
export const DriverHistory = Type.Object({ driverId: DriverId, items: Type.Array(DriverHistoryEntry) });
export type DriverHistory = Static<typeof DriverHistory>;

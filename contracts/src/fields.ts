import { Type } from '@sinclair/typebox';

/** Field shapes shared by HTTP bodies and event payloads, so both validate a driver the same way. */
export const DriverId = Type.String({ format: 'uuid', description: 'Driver aggregate id' });
export const PersonName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
/** E.164-ish: optional plus, digits, spaces, dashes and parentheses; 7 to 20 characters. */
export const Phone = Type.String({ pattern: '^\\+?[0-9 ()-]{7,20}$' });
/**
 * A phone number as clients send it: at least 7 digits (separators alone are not a number), so that it
 * still satisfies `Phone` once surrounding spaces are trimmed.
 */
export const PhoneInput = Type.String({ pattern: '^\\s*\\+?(?:[ ()-]*[0-9]){7,15}[ ()-]*\\s*$', maxLength: 20 });
export const Timestamp = Type.String({ format: 'date-time' });
export const AggregateVersion = Type.Integer({ minimum: 1, description: 'Aggregate version after the change' });
export const DriverStatus = Type.Union([Type.Literal('PENDING'), Type.Literal('ACTIVE'), Type.Literal('FAILED'), Type.Literal('DELETED')]);

/** Languages the welcome mail is written in. */
export const LANGUAGES = ['en', 'de', 'fr', 'es'] as const;
export const Language = Type.Union(
  LANGUAGES.map((code) => Type.Literal(code)),
  { description: 'ISO 639-1 code' },
);
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'en';

import { FormatRegistry } from '@sinclair/typebox';

// TypeBox validates `format` only for formats it has been taught; register the ones the contracts use.
// No control characters: PostgreSQL cannot store U+0000 in text, so an address carrying one would be a database
// error (a 500) wherever it is stored or searched for, and no mailbox has one.
const EMAIL = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const URI_REFERENCE = /^\S+$/;

export function registerFormats(): void {
  if (!FormatRegistry.Has('email')) FormatRegistry.Set('email', (value) => EMAIL.test(value));
  if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (value) => UUID.test(value));
  if (!FormatRegistry.Has('date-time')) {
    FormatRegistry.Set('date-time', (value) => DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)));
  }
  if (!FormatRegistry.Has('uri-reference')) FormatRegistry.Set('uri-reference', (value) => URI_REFERENCE.test(value));
}

registerFormats();

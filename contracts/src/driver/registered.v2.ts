import { Type } from '@sinclair/typebox';
import { defineEvent, type CloudEvent, type EventData } from '../envelope';
import { AggregateVersion, DEFAULT_LANGUAGE, DriverId, Email, Language, PersonName, Phone, Timestamp } from '../fields';
import type { DriverRegisteredV1 } from './registered.v1';

/**
 * v2 makes `preferredLanguage` required (the welcome mail is written in it): a breaking change for every
 * producer, hence a new major version published side by side with v1 until no consumer needs v1.
 */
export const DriverRegisteredV2 = defineEvent(
  'driver.registered',
  2,
  Type.Object(
    {
      driverId: DriverId,
      firstName: PersonName,
      lastName: PersonName,
      email: Email,
      phone: Phone,
      preferredLanguage: Language,
      registeredAt: Timestamp,
      version: AggregateVersion,
    },
    { additionalProperties: true },
  ),
);
export type DriverRegisteredV2 = EventData<typeof DriverRegisteredV2>;

/** Upcasts a v1 registration to v2: a v1 producer knew no language, so the default one is assumed. */
export function upcastDriverRegisteredV1(event: CloudEvent<DriverRegisteredV1>): CloudEvent<DriverRegisteredV2> {
  return {
    ...event,
    dataversion: 2,
    dataschema: DriverRegisteredV2.dataschema,
    data: { ...event.data, preferredLanguage: DEFAULT_LANGUAGE },
  };
}

import { EntitySchema, type EntityManager } from '@mikro-orm/core';
import {
  DriverRegisteredV1,
  DriverRegisteredV2,
  upcastDriverRegisteredV1,
  type Language,
} from '@onboarding/contracts';
import { handlerFor, type MessageHandler } from '@onboarding/messaging';

/** The language a driver wants mail in, learnt from `driver.registered`. */
export class LanguagePreference {
  driverId: string;
  language: Language;
  /** False when it came from an upcast v1 event (a default, not the driver's choice). */
  stated: boolean;

  constructor(driverId: string, language: Language, stated: boolean) {
    this.driverId = driverId;
    this.language = language;
    this.stated = stated;
  }
}

export const LanguagePreferenceSchema = new EntitySchema<LanguagePreference>({
  class: LanguagePreference,
  tableName: 'language_preference',
  properties: {
    driverId: { type: 'uuid', primary: true },
    language: { type: 'string' },
    stated: { type: 'boolean' },
  },
});

/**
 * Records the language from v2 registrations, and a default from upcast v1 ones. While the producer
 * publishes both versions, whichever copy arrives second must not replace a stated language with the default.
 */
export function languagePreferenceHandlers(versions: readonly number[]): MessageHandler[] {
  const remember = (driverId: string, language: Language, stated: boolean) =>
    async (em: EntityManager) => {
      const known = await em.findOne(LanguagePreference, { driverId });
      if (!known) em.persist(new LanguagePreference(driverId, language, stated));
      else if (stated) {
        known.language = language;
        known.stated = true;
      }
    };
  const handlers: MessageHandler[] = [];
  if (versions.includes(2)) {
    handlers.push(
      handlerFor(DriverRegisteredV2, (event, context) =>
        context.commit(remember(event.data.driverId, event.data.preferredLanguage, true)),
      ),
    );
  }
  if (versions.includes(1)) {
    handlers.push(
      handlerFor(DriverRegisteredV1, (event, context) => {
        const upcast = upcastDriverRegisteredV1(event);
        return context.commit(remember(upcast.data.driverId, upcast.data.preferredLanguage, false));
      }),
    );
  }
  return handlers;
}

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
export function languagePreferenceHandlers(versions: readonly number[], schema: string): MessageHandler[] {
  const table = `"${schema}"."language_preference"`;
  // One statement each, so the two copies of a registration processed at the same time never conflict.
  const remember = (driverId: string, language: Language, stated: boolean) => async (em: EntityManager) => {
    await em.getConnection().execute(
      stated
        ? `insert into ${table} (driver_id, language, stated) values (?, ?, true)
             on conflict (driver_id) do update set language = excluded.language, stated = true`
        : `insert into ${table} (driver_id, language, stated) values (?, ?, false) on conflict (driver_id) do nothing`,
      [driverId, language],
      'run',
      em.getTransactionContext(),
    );
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

import type { Language } from '@onboarding/contracts';

export const LANGUAGES: readonly Language[] = ['en', 'de', 'fr', 'es'];

/** What a driver form edits: the same five fields when registering and when editing. */
export interface DriverFieldValues {
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  preferredLanguage?: Language;
}

/** The labelled inputs of a driver form; `field(name)` is the form's change handler for that input. */
export function DriverFields({ values, field }: { values: DriverFieldValues; field: (name: keyof DriverFieldValues) => (event: Event) => void }) {
  return (
    <div class="grid">
      <label>
        First name <input name="firstName" required value={values.firstName} onInput={field('firstName')} />
      </label>
      <label>
        Last name <input name="lastName" required value={values.lastName} onInput={field('lastName')} />
      </label>
      <label>
        Email <input name="email" type="email" required value={values.email} onInput={field('email')} />
      </label>
      <label>
        Phone <input name="phone" type="tel" required value={values.phone} onInput={field('phone')} />
      </label>
      <label>
        Language
        <select name="preferredLanguage" value={values.preferredLanguage} onChange={field('preferredLanguage')}>
          {LANGUAGES.map((language) => (
            <option key={language} value={language}>
              {language}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

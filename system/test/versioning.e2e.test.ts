import { eventually } from '@onboarding/test-infra';
import { LocalPlatform } from '../src/local-platform/local-platform';

const GERMAN = 'Willkommen in der Flotte, Lise!';
const FRENCH = 'Bienvenue dans la flotte, Lise !';

/** Registers one driver with a preferred language and returns its (ACTIVE) resource and welcome mail. */
async function registerAndWelcome(platform: LocalPlatform, tag: string, preferredLanguage: 'de' | 'fr' = 'de') {
  const response = await platform.api('POST', '/v1/drivers', {
    firstName: 'Lise',
    lastName: 'Meitner',
    email: `lise.${tag}@example.com`,
    phone: '+43 1 4277 0',
    preferredLanguage,
  });
  expect(response.status).toBe(202);
  const id = response.body.id as string;
  const driver = await eventually(
    async () => {
      const read = await platform.api('GET', `/v1/drivers/${id}`);
      return read.body.status === 'ACTIVE' ? read.body : undefined;
    },
    { timeoutMs: 30_000, description: 'ACTIVE' },
  );
  const [mail] = await eventually(
    () => {
      const mails = platform.mail.mailsTo(`lise.${tag}@example.com`);
      return mails.length > 0 ? mails : undefined;
    },
    { timeoutMs: 30_000, description: 'the welcome mail' },
  );
  return { driver, mail: mail! };
}

/**
 * Only identity binds `driver.registered` (CONSUME_REGISTERED_VERSIONS); the mailer takes the language from
 * `driver.activated`, so the welcome mail is in the driver's language whichever registration versions flow.
 */
describe('driver.registered v1 → v2 migration, services deployed independently', () => {
  it('new producer (publishes v1 and v2) with an old identity that only knows v1', async () => {
    const platform = new LocalPlatform();
    try {
      await platform.start('mix-new-producer', {
        env: { PUBLISH_REGISTERED_VERSIONS: '1,2', CONSUME_REGISTERED_VERSIONS: '1' },
      });
      const { driver, mail } = await registerAndWelcome(platform, 'new-producer');
      expect(driver.preferredLanguage).toBe('de');
      expect(mail.subject).toBe(GERMAN);
    } finally {
      await platform.stop();
    }
  }, 120_000);

  it('new producer with new consumers: the stated language reaches the mail', async () => {
    const platform = new LocalPlatform();
    try {
      await platform.start('mix-new-new', { env: { PUBLISH_REGISTERED_VERSIONS: '1,2', CONSUME_REGISTERED_VERSIONS: '1,2' } });
      const { mail } = await registerAndWelcome(platform, 'new-new');
      expect(mail.subject).toBe(GERMAN);
    } finally {
      await platform.stop();
    }
  }, 120_000);

  it('producer publishing v1 only (no language in the registration) with new consumers that upcast v1', async () => {
    const platform = new LocalPlatform();
    try {
      await platform.start('mix-old-producer', { env: { PUBLISH_REGISTERED_VERSIONS: '1', CONSUME_REGISTERED_VERSIONS: '1,2' } });
      const { driver, mail } = await registerAndWelcome(platform, 'old-producer', 'fr');
      expect(driver.status).toBe('ACTIVE');
      expect(mail.subject).toBe(FRENCH); // the activation carries the language the v1 registration could not
    } finally {
      await platform.stop();
    }
  }, 120_000);

  it('v2-only producer and v2-only consumers once the migration is over', async () => {
    const platform = new LocalPlatform();
    try {
      await platform.start('mix-v2-only', { env: { PUBLISH_REGISTERED_VERSIONS: '2', CONSUME_REGISTERED_VERSIONS: '2' } });
      const { mail } = await registerAndWelcome(platform, 'v2-only');
      expect(mail.subject).toBe(GERMAN);
    } finally {
      await platform.stop();
    }
  }, 120_000);
});

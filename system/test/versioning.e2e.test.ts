import { eventually } from '@onboarding/test-infra';
import { LocalPlatform } from '../src/local-platform/local-platform';

/** Registers one driver with a preferred language and returns its (ACTIVE) resource and welcome mail. */
async function registerAndWelcome(platform: LocalPlatform, tag: string) {
  const response = await platform.api('POST', '/v1/drivers', {
    firstName: 'Lise',
    lastName: 'Meitner',
    email: `lise.${tag}@example.com`,
    phone: '+43 1 4277 0',
    preferredLanguage: 'de',
  });
  expect(response.status).toBe(202);
  const id = response.body.id as string;
  const driver = await eventually(async () => {
    const read = await platform.api('GET', `/v1/drivers/${id}`);
    return read.body.status === 'ACTIVE' ? read.body : undefined;
  }, { timeoutMs: 30_000, description: 'ACTIVE' });
  const [mail] = await eventually(() => {
    const mails = platform.mail.mailsTo(`lise.${tag}@example.com`);
    return mails.length > 0 ? mails : undefined;
  }, { timeoutMs: 30_000, description: 'the welcome mail' });
  return { driver, mail: mail! };
}

describe('driver.registered v1 → v2 migration, services deployed independently', () => {
  it('new producer (publishes v1 and v2) with an old identity that only knows v1', async () => {
    const platform = new LocalPlatform();
    try {
      await platform.start('mix-new-producer', {
        env: { PUBLISH_REGISTERED_VERSIONS: '1,2', CONSUME_REGISTERED_VERSIONS: '1' },
      });
      // CONSUME_REGISTERED_VERSIONS reaches identity and mailer alike: both behave as pre-v2 consumers.
      const { driver, mail } = await registerAndWelcome(platform, 'new-producer');
      expect(driver.preferredLanguage).toBe('de');
      expect(mail.subject).toBe('Welcome to the fleet, Lise!'); // an old mailer cannot know the language
    } finally {
      await platform.stop();
    }
  }, 120_000);

  it('new producer with new consumers: the stated language reaches the mail', async () => {
    const platform = new LocalPlatform();
    try {
      await platform.start('mix-new-new', { env: { PUBLISH_REGISTERED_VERSIONS: '1,2', CONSUME_REGISTERED_VERSIONS: '1,2' } });
      const { mail } = await registerAndWelcome(platform, 'new-new');
      expect(mail.subject).toBe('Willkommen in der Flotte, Lise!');
    } finally {
      await platform.stop();
    }
  }, 120_000);

  it('old producer (v1 only) with new consumers that upcast v1', async () => {
    const platform = new LocalPlatform();
    try {
      await platform.start('mix-old-producer', { env: { PUBLISH_REGISTERED_VERSIONS: '1', CONSUME_REGISTERED_VERSIONS: '1,2' } });
      const { driver, mail } = await registerAndWelcome(platform, 'old-producer');
      expect(driver.status).toBe('ACTIVE');
      expect(mail.subject).toBe('Welcome to the fleet, Lise!'); // upcast v1: the default language
    } finally {
      await platform.stop();
    }
  }, 120_000);

  it('v2-only producer and v2-only consumers once the migration is over', async () => {
    const platform = new LocalPlatform();
    try {
      await platform.start('mix-v2-only', { env: { PUBLISH_REGISTERED_VERSIONS: '2', CONSUME_REGISTERED_VERSIONS: '2' } });
      const { mail } = await registerAndWelcome(platform, 'v2-only');
      expect(mail.subject).toBe('Willkommen in der Flotte, Lise!');
    } finally {
      await platform.stop();
    }
  }, 120_000);
});

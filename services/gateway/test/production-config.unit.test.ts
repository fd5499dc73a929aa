import { ConfigError } from '@onboarding/service-kit';
import { DEV_JWT_SECRET, DEV_SESSION_SECRET, gatewayService, jwtSecretWeakness, loadGatewayConfig } from '../src';

// What `openssl rand -base64 32` prints: 32 random bytes.
const STRONG_SECRET = 'q3JmT0c9vXw2Yb8LkPz1N4sRuE6hGd7A5fCi+oVtMnQ=';
const JWKS = {
  JWT_JWKS_URL: 'https://fleet.b2clogin.com/discovery/v2.0/keys',
  JWT_ISSUER: 'https://fleet.b2clogin.com/t/v2.0/',
  JWT_AUDIENCE: 'api',
};

/** The settings each loader names in its refusal, or a failure when the config loads. */
function refusedSettings(env: NodeJS.ProcessEnv): string[][] {
  return [loadGatewayConfig, (e: NodeJS.ProcessEnv) => gatewayService.loadConfig(e)].map((load) => {
    try {
      load(env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.problems.map((problem) => problem.slice(0, problem.indexOf(':')));
    }
    throw new Error('the config loaded');
  });
}

describe('gateway token settings in production', () => {
  it('outside production, the development secret and token settings apply by default', () => {
    expect(loadGatewayConfig({})).toMatchObject({ JWT_SECRET: DEV_JWT_SECRET, JWT_ISSUER: 'onboarding-local', JWT_AUDIENCE: 'onboarding-api' });
    expect(gatewayService.loadConfig({}).JWT_SECRET).toBe(DEV_JWT_SECRET);
  });

  it('refuses to start with no JWKS and no secret, naming every setting at once', () => {
    for (const names of refusedSettings({ NODE_ENV: 'production', CONSOLE_ENABLED: 'false' })) {
      expect(names).toEqual(['JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_JWKS_URL or JWT_SECRET']);
    }
  });

  it('never accepts the development secret, not even given explicitly, nor beside a JWKS', () => {
    for (const secret of [DEV_JWT_SECRET, ` ${DEV_JWT_SECRET} `]) {
      for (const env of [{ JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' }, JWKS]) {
        for (const names of refusedSettings({ NODE_ENV: 'production', CONSOLE_ENABLED: 'false', ...env, JWT_SECRET: secret }))
          expect(names).toEqual(['JWT_SECRET']);
      }
    }
  });

  it('needs the issuer and audience set explicitly with a JWKS', () => {
    for (const names of refusedSettings({ NODE_ENV: 'production', CONSOLE_ENABLED: 'false', JWT_JWKS_URL: JWKS.JWT_JWKS_URL })) {
      expect(names).toEqual(['JWT_ISSUER', 'JWT_AUDIENCE']);
    }
  });

  it('starts with a JWKS and its issuer and audience, or with a strong secret and its issuer and audience', () => {
    expect(gatewayService.loadConfig({ NODE_ENV: 'production', CONSOLE_ENABLED: 'false', ...JWKS }).JWT_JWKS_URL).toBe(JWKS.JWT_JWKS_URL);
    const withSecret = {
      NODE_ENV: 'production',
      CONSOLE_ENABLED: 'false',
      JWT_SECRET: STRONG_SECRET,
      JWT_ISSUER: 'fleet',
      JWT_AUDIENCE: 'onboarding-api',
    };
    expect(loadGatewayConfig(withSecret).JWT_SECRET).toBe(STRONG_SECRET);
    expect(gatewayService.loadConfig(withSecret).JWT_SECRET).toBe(STRONG_SECRET);
  });

  it('calls strong what a random generator prints for 32 bytes, and nothing shorter or plainly patterned', () => {
    expect(jwtSecretWeakness(STRONG_SECRET)).toBeUndefined();
    expect(jwtSecretWeakness('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08')).toBeUndefined(); // openssl rand -hex 32
    expect(jwtSecretWeakness(STRONG_SECRET.slice(0, 42))).toMatch(/too short/);
    expect(jwtSecretWeakness('ab'.repeat(40))).toMatch(/not random enough/);
    expect(jwtSecretWeakness(DEV_JWT_SECRET)).toMatch(/development secret/);
    for (const names of refusedSettings({ NODE_ENV: 'production', CONSOLE_ENABLED: 'false', ...JWKS, JWT_SECRET: 'x'.repeat(64) }))
      expect(names).toEqual(['JWT_SECRET']);
  });
});

describe('gateway console settings in production', () => {
  const TOKENS = { NODE_ENV: 'production', ...JWKS };
  const OIDC = {
    OIDC_ISSUER_URL: 'https://fleet.b2clogin.com/fleet.onmicrosoft.com/B2C_1_signin/v2.0/',
    OIDC_CLIENT_ID: 'console',
    OIDC_REDIRECT_URL: 'https://fleet.example.com/admin/auth/callback',
  };

  it('refuses to serve the console without its OIDC settings and session secret, naming each', () => {
    for (const names of refusedSettings(TOKENS)) {
      expect(names).toEqual(['OIDC_ISSUER_URL', 'OIDC_CLIENT_ID', 'OIDC_REDIRECT_URL', 'SESSION_SECRET']);
    }
  });

  it('refuses the development session secret and a weak one', () => {
    for (const secret of [DEV_SESSION_SECRET, 'a'.repeat(48)]) {
      for (const names of refusedSettings({ ...TOKENS, ...OIDC, SESSION_SECRET: secret })) expect(names).toEqual(['SESSION_SECRET']);
    }
  });

  it('starts with every console setting (a public client needs no secret), or with the console turned off', () => {
    expect(loadGatewayConfig({ ...TOKENS, ...OIDC, SESSION_SECRET: STRONG_SECRET })).toMatchObject({
      CONSOLE_ENABLED: true,
      OIDC_CLIENT_ID: 'console',
    });
    expect(loadGatewayConfig({ ...TOKENS, CONSOLE_ENABLED: 'false' }).CONSOLE_ENABLED).toBe(false);
  });
});

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** A value that is not a credential: a reference (`${VAR}`, `$(VAR)`), a `<placeholder>`, a mask, or nothing. */
const REFERENCE = /^(\$\{[^}]+\}|\$\([^)]+\)|<[^>]+>|\*+|)$/;

/** Keys whose value is a credential. */
const SECRET_KEY = /(password|passwd|pass$|secret|token|api[_-]?key|private[_-]?key|credential)/i;

/**
 * The literal credentials in one deployment file: passwords inside URLs, values of secret-looking keys
 * (`KEY=value`, `key: value`, `"key": "value"`), private keys. References to secrets and placeholders pass.
 */
function literalSecrets(text: string): string[] {
  const found: string[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    const where = `line ${index + 1}`;
    if (/^\s*#/.test(line)) continue; // comments explain, with placeholders
    for (const match of line.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^\s/:@"'`]+:([^\s@"'`]+)@/gi)) {
      if (!REFERENCE.test(match[1]!)) found.push(`${where}: a password in a URL`);
    }
    // `KEY=value`, `key: value`, `"key": "value"` (also inside a JSON object, as definitions files have them).
    // A `${VAR:?message}` reference is one opaque token here: its inside is not an assignment.
    const opaque = line.replace(/\$\{[^}]*\}/g, '$${REF}');
    for (const assignment of opaque.matchAll(/"?([A-Za-z0-9_.-]+)"?\s*[:=]\s*("[^"]*"|\$\{REF\}|[^,}\n]*)/g)) {
      const key = assignment[1]!;
      const value = assignment[2]!.trim().replace(/^"(.*)"$/, '$1');
      // Keys that say where a secret lives (secretKeyRef, secretRef) hold a reference, not the secret.
      if (SECRET_KEY.test(key) && !/Ref$/.test(key) && !value.startsWith('{') && !REFERENCE.test(value)) {
        found.push(`${where}: a literal value for ${key}`);
      }
    }
    if (line.includes('-----BEGIN')) found.push(`${where}: a private key`);
  }
  return found;
}

/** Every committed file that describes a deployment. */
function deploymentFiles(): string[] {
  const tracked = execFileSync('git', ['ls-files', 'deploy', 'docker-compose.yml', '.ci'], { cwd: ROOT, encoding: 'utf8' });
  return tracked.split('\n').filter((path) => path.length > 0 && !path.endsWith('.js'));
}

describe('no credentials in the deployment files', () => {
  it('finds the literal secrets it is meant to find', () => {
    expect(literalSecrets('AMQP_URL: amqp://driver:driver@rabbitmq:5672')).toHaveLength(1);
    expect(literalSecrets('      RABBITMQ_DEFAULT_PASS: admin')).toHaveLength(1);
    expect(literalSecrets('JWT_SECRET=c2VjcmV0LXNlY3JldC1zZWNyZXQ')).toHaveLength(1);
    expect(literalSecrets('{ "name": "admin", "password": "admin", "tags": ["administrator"] }')).toHaveLength(1);
    expect(literalSecrets('-----BEGIN PRIVATE KEY-----')).toHaveLength(1);
  });

  it('lets references to secrets and placeholders through', () => {
    expect(literalSecrets('AMQP_URL: amqp://driver:${DRIVER_AMQP_PASSWORD:?set it}@rabbitmq:5672')).toEqual([]);
    expect(literalSecrets('  driver-amqp-url: amqps://driver:<password>@<rabbitmq-host>:5671')).toEqual([]);
    expect(literalSecrets('JWT_SECRET=')).toEqual([]);
    expect(literalSecrets('            secretKeyRef: { name: onboarding-secrets, key: database-url }')).toEqual([]);
    expect(literalSecrets('  b2c-client-secret: <the client secret>')).toEqual([]);
  });

  it('holds in every committed deployment file', () => {
    const files = deploymentFiles();
    expect(files).toEqual(expect.arrayContaining(['docker-compose.yml', 'deploy/overlays/cluster/secrets.example.yaml']));
    const found = files.flatMap((path) => literalSecrets(readFileSync(join(ROOT, path), 'utf8')).map((finding) => `${path} ${finding}`));
    expect(found).toEqual([]);
  });
});

import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freePort, isolatedEnvironment } from '@onboarding/test-infra';

const ROOT = join(__dirname, '..', '..');
const TURBO = join(ROOT, 'node_modules', '.bin', 'turbo');
const STRIP = join(ROOT, 'deploy', 'docker', 'strip-dev-dependencies.js');

// packages/dev-mail comes in with test-infra (a dev dependency of every service), which re-exports its mail catcher.
const CHASSIS = ['contracts', 'packages/broker-setup', 'packages/dev-mail', 'packages/service-kit', 'packages/telemetry', 'packages/test-infra'];
/** A consuming service's image: the chassis, the messaging runtime and the service itself, in workspace order. */
const consuming = (service: string) => [...CHASSIS, 'packages/messaging', `services/${service}`].sort();
const EXPECTED: Record<string, string[]> = {
  // The broker set-up job's image: the contracts it derives the rights from, nothing else of ours.
  'broker-setup': ['contracts', 'packages/broker-setup'],
  // The gateway serves the admin console's build, so its image holds the console workspace too; no messaging.
  gateway: ['console', ...CHASSIS, 'services/gateway'],
  driver: consuming('driver'),
  identity: consuming('identity'),
  mailer: consuming('mailer'),
  notification: consuming('notification'),
  operations: consuming('operations'),
};

function workspacesIn(directory: string): string[] {
  const found: string[] = [];
  if (existsSync(join(directory, 'contracts', 'package.json'))) found.push('contracts');
  if (existsSync(join(directory, 'console', 'package.json'))) found.push('console');
  for (const group of ['packages', 'services']) {
    if (!existsSync(join(directory, group))) continue;
    for (const name of readdirSync(join(directory, group))) found.push(`${group}/${name}`);
  }
  return found.sort();
}

function prune(service: string): string {
  const out = mkdtempSync(join(tmpdir(), `prune-${service}-`));
  execFileSync(TURBO, ['prune', `@onboarding/${service}`, '--docker', '--out-dir', out], { cwd: ROOT, stdio: 'pipe' });
  return out;
}

describe('independent build and deploy', () => {
  const pruned: string[] = [];
  afterAll(() => pruned.forEach((directory) => rmSync(directory, { recursive: true, force: true })));

  it.each(Object.keys(EXPECTED))('turbo prune keeps only what %s needs, and the runtime manifest has no dev dependencies', (service) => {
    const out = prune(service);
    pruned.push(out);
    expect(workspacesIn(join(out, 'json'))).toEqual(EXPECTED[service]);
    expect(existsSync(join(out, 'json', 'package-lock.json'))).toBe(true);
    execFileSync(process.execPath, [STRIP, join(out, 'json'), `@onboarding/${service}`], { stdio: 'pipe' });
    const runtime = workspacesIn(join(out, 'json'));
    expect(runtime).not.toContain('packages/test-infra');
    expect(runtime).not.toContain('packages/dev-mail');
    if (service !== 'broker-setup') expect(runtime).not.toContain('packages/broker-setup');
    for (const workspace of ['.', ...runtime]) {
      const manifest = JSON.parse(readFileSync(join(out, 'json', workspace, 'package.json'), 'utf8')) as Record<string, unknown>;
      expect(manifest.devDependencies).toBeUndefined();
    }
  });

  it('a pruned driver with production dependencies only starts and becomes ready on its own', async () => {
    const out = prune('driver');
    pruned.push(out);
    const app = join(out, 'json');
    execFileSync(process.execPath, [STRIP, app, '@onboarding/driver'], { stdio: 'pipe' });
    execFileSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: app, stdio: 'pipe' });
    const installed = readdirSync(join(app, 'node_modules'));
    for (const devOnly of ['jest', 'typescript', 'testcontainers', 'turbo', '@pact-foundation']) expect(installed).not.toContain(devOnly);
    for (const workspace of EXPECTED.driver!.filter(
      (name) => !['packages/test-infra', 'packages/broker-setup', 'packages/dev-mail'].includes(name),
    )) {
      cpSync(join(ROOT, workspace, 'dist'), join(app, workspace, 'dist'), { recursive: true });
    }
    const environment = await isolatedEnvironment('pruned-driver');
    const port = await freePort();
    const child = spawn(process.execPath, [join(app, 'services', 'driver', 'dist', 'main.js')], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: environment.databaseUrl,
        AMQP_URL: environment.broker.urlFor('driver'),
        PORT: String(port),
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    try {
      await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, { timeoutMs: 30_000, description: 'ready' });
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await environment.drop();
    }
  }, 120_000);

  it('`turbo run test --filter` for one service touches only it and what it depends on', () => {
    const plan = JSON.parse(
      execFileSync(TURBO, ['run', 'test', '--filter=@onboarding/notification', '--dry=json'], { cwd: ROOT, encoding: 'utf8' }),
    ) as { tasks: { package: string }[] };
    const packages = [...new Set(plan.tasks.map((task) => task.package))].sort();
    expect(packages).toEqual([
      '@onboarding/broker-setup',
      '@onboarding/contracts',
      '@onboarding/dev-mail',
      '@onboarding/messaging',
      '@onboarding/notification',
      '@onboarding/service-kit',
      '@onboarding/telemetry',
      '@onboarding/test-infra',
    ]);
  });
});

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { decodeJwt, jwtVerify } from 'jose';
import { loadGatewayConfig } from '@onboarding/gateway';

/**
 * The built CLIs' argument handling, each run as a child process. Nothing here reaches a server: every
 * refused command line must exit 2 before the CLI touches anything. Should parsing ever let one through, the
 * servers it would reach are pointed at a closed port, so the run fails at once (exit 1, which these tests
 * reject) instead of starting a platform.
 */
const DIST = join(__dirname, '..', 'dist');
const CLOSED = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
  TEST_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
  AMQP_URL: 'amqp://guest:guest@127.0.0.1:1',
  TEST_AMQP_URL: 'amqp://guest:guest@127.0.0.1:1',
  TEST_RABBITMQ_MANAGEMENT_URL: '',
  GATEWAY_URL: 'http://127.0.0.1:1',
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(script: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(DIST, script), ...args],
      { env: { ...process.env, ...CLOSED }, timeout: 30_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The last non-empty line: the token CLI prints its token last. */
const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

function expectRefused(result: Run, reason: RegExp): void {
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(reason);
  expect(result.stderr).toMatch(/^usage: /m);
  expect(result.stdout).toBe('');
}

describe('npm run token', () => {
  const config = loadGatewayConfig();
  const verify = (token: string) =>
    jwtVerify(token, new TextEncoder().encode(config.JWT_SECRET), { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE });

  it('--role=dispatcher signs a dispatcher token (the = spelling was ignored and gave admin)', async () => {
    const result = await run('cli/token.js', ['--role=dispatcher']);
    expect(result.code).toBe(0);
    const { payload } = await verify(lastLine(result.stdout));
    expect(payload.roles).toEqual(['dispatcher']);
    expect(payload.sub).toBe('dev-dispatcher');
  });

  it('--role admin signs an admin token, and --subject and --expires are honoured in either spelling', async () => {
    const result = await run('cli/token.js', ['--role', 'admin', '--subject=ops', '--expires', '30m']);
    expect(result.code).toBe(0);
    const payload = decodeJwt(lastLine(result.stdout));
    expect(payload.roles).toEqual(['admin']);
    expect(payload.sub).toBe('ops');
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(30 * 60);
  });

  it('refuses an unknown option, a role that is not a role, a bad lifetime and a stray argument', async () => {
    expectRefused(await run('cli/token.js', ['--bogus']), /Unknown option '--bogus'/);
    expectRefused(await run('cli/token.js', ['--role=root']), /--role must be one of admin, dispatcher/);
    expectRefused(await run('cli/token.js', ['--role']), /--role.*argument missing/);
    expectRefused(await run('cli/token.js', ['--expires=soon']), /--expires/);
    expectRefused(await run('cli/token.js', ['dispatcher']), /unexpected argument '?dispatcher/i);
  });

  it('--help prints the usage and exits 0', async () => {
    const result = await run('cli/token.js', ['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm run token/);
  });
});

describe('npm run parked (arguments only; the replays themselves are in parked-cli.e2e.test.ts)', () => {
  it('refuses a missing or unknown command, an unknown option, a live queue, a bad limit and an empty filter', async () => {
    expectRefused(await run('cli/parked.js', []), /list or replay/);
    expectRefused(await run('cli/parked.js', ['purge']), /unknown command "purge"/);
    expectRefused(await run('cli/parked.js', ['replay', '--bogus']), /Unknown option '--bogus'/);
    expectRefused(await run('cli/parked.js', ['replay', '--queue=identity.events']), /--queue must name a parking lot/);
    expectRefused(await run('cli/parked.js', ['replay', '--limit', 'ten']), /--limit must be a whole number/);
    expectRefused(await run('cli/parked.js', ['replay', '--id=']), /--id needs a value/);
    expectRefused(await run('cli/parked.js', ['list', '--dry-run']), /--dry-run goes with replay/);
    expectRefused(await run('cli/parked.js', ['replay', 'now']), /unexpected argument: now/);
  });
});

describe('npm run erase (arguments only; erasure itself is in erasure.e2e.test.ts)', () => {
  it('refuses a missing or malformed driver id, an unknown option, a bad or lone timeout and a stray argument', async () => {
    expectRefused(await run('cli/erase.js', []), /--driver is required/);
    expectRefused(await run('cli/erase.js', ['--driver=42']), /--driver must be a driver id/);
    expectRefused(await run('cli/erase.js', ['--driver']), /--driver.*argument missing/);
    const id = '65028c56-0807-4e6a-980c-62454c3758a7';
    expectRefused(await run('cli/erase.js', ['--driver', id, '--force']), /Unknown option '--force'/);
    expectRefused(await run('cli/erase.js', ['--driver', id, '--wait', '--timeout=0']), /--timeout must be at least 1/);
    expectRefused(await run('cli/erase.js', ['--driver', id, '--timeout', '10']), /--timeout goes with --wait/);
    expectRefused(await run('cli/erase.js', ['--driver', id, 'now']), /unexpected argument '?now/i);
  });

  it('--help prints the usage and exits 0', async () => {
    const result = await run('cli/erase.js', ['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm run erase/);
  });
});

describe('npm run chaos', () => {
  it('refuses an unknown option and out-of-range or invalid values without starting anything', async () => {
    expectRefused(await run('chaos/cli.js', ['--bogus']), /Unknown option '--bogus'/);
    expectRefused(await run('chaos/cli.js', ['--duration=4']), /--duration must be at least 5 and at most 3600/);
    expectRefused(await run('chaos/cli.js', ['--rate', '201']), /--rate must be more than 0 and at most 200/);
    expectRefused(await run('chaos/cli.js', ['--rate=fast']), /--rate must be a number/);
    expectRefused(await run('chaos/cli.js', ['--broker-fault=flood']), /--broker-fault must be one of restart, cut, none/);
    expectRefused(await run('chaos/cli.js', ['--database-outage=601']), /--database-outage must be at least 0 and at most 600/);
  });
});

describe('npm run bench', () => {
  it('refuses an unknown option and out-of-range or invalid values without starting anything', async () => {
    expectRefused(await run('bench/cli.js', ['--bogus']), /Unknown option '--bogus'/);
    // Above the maximum used to be clamped silently; now the run asked for is the run made, or none.
    expectRefused(await run('bench/cli.js', ['--duration=601']), /--duration must be more than 0 and at most 600/);
    expectRefused(await run('bench/cli.js', ['--concurrency', '0']), /--concurrency must be at least 1/);
    expectRefused(await run('bench/cli.js', ['--warmup=0x10']), /--warmup must be a number/);
    expectRefused(await run('bench/cli.js', ['--registered-versions=3']), /--registered-versions must be 2 or 1,2/);
    expectRefused(await run('bench/cli.js', ['--profile']), /--profile.*argument missing/);
  });
});

describe('npm run bench:micro', () => {
  it('refuses an unknown option and out-of-range or invalid values without starting anything', async () => {
    expectRefused(await run('micro-bench/cli.js', ['--bogus']), /Unknown option '--bogus'/);
    expectRefused(await run('micro-bench/cli.js', ['--duration=121']), /--duration must be more than 0 and at most 120/);
    expectRefused(await run('micro-bench/cli.js', ['--messages', '1.5']), /--messages must be a whole number/);
    expectRefused(await run('micro-bench/cli.js', ['--only=consume,bogus']), /--only takes consume, relay, gateway/);
  });
});

describe('contracts tools', () => {
  const contractsTool = (name: string, args: string[]) => run(join('..', '..', 'contracts', 'dist', 'tools', name), args);

  it('contracts:check and asyncapi refuse an unknown option (a misspelt --snapshot ran the check instead)', async () => {
    expectRefused(await contractsTool('contracts-check.js', ['--snapshots']), /Unknown option '--snapshots'/);
    expectRefused(await contractsTool('asyncapi.js', ['--out=x.json']), /Unknown option '--out'/);
  });
});

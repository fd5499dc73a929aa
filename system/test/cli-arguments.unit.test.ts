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

/**
 * Runs the cases three at a time (each is a process start, most of it spent loading modules, so two cores do two
 * or three at once in the time of one), then checks each.
 */
async function expectAllRefused(script: string, cases: [string[], RegExp][]): Promise<void> {
  const results: Run[] = [];
  for (let start = 0; start < cases.length; start += 3) {
    results.push(...(await Promise.all(cases.slice(start, start + 3).map(([args]) => run(script, args)))));
  }
  results.forEach((result, index) => {
    const [args, reason] = cases[index]!;
    expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' });
    expect(result.stderr).toMatch(reason);
    expect(result.stderr).toMatch(/^usage: /m);
  });
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
    await expectAllRefused('cli/token.js', [
      [['--bogus'], /Unknown option '--bogus'/],
      [['--role=root'], /--role must be one of admin, dispatcher/],
      [['--role'], /--role.*argument missing/],
      [['--expires=soon'], /--expires/],
      [['dispatcher'], /unexpected argument '?dispatcher/i],
    ]);
  });

  it('--help prints the usage and exits 0', async () => {
    const result = await run('cli/token.js', ['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm run token/);
  });
});

describe('npm run parked (arguments only; the replays themselves are in parked-cli.e2e.test.ts)', () => {
  it('refuses a missing or unknown command, an unknown option, a queue nothing is parked from, a bad limit and an empty filter', async () => {
    await expectAllRefused('cli/parked.js', [
      [[], /list, replay or archive/],
      [['purge'], /unknown command "purge"/],
      [['replay', '--bogus'], /Unknown option '--bogus'/],
      [['replay', '--queue=identity.events.delay.1000ms'], /--queue must name a queue messages are parked from/],
      [['replay', '--all'], /--all goes with list/],
      [['replay', '--limit', 'ten'], /--limit must be a whole number/],
      [['replay', '--id='], /--id needs a value/],
      [['list', '--dry-run'], /--dry-run goes with replay/],
      [['replay', 'now'], /unexpected argument: now/],
    ]);
  });
});

describe('npm run erase (arguments only; erasure itself is in erasure.e2e.test.ts)', () => {
  it('refuses a missing or malformed driver id, an unknown option, a bad or lone timeout and a stray argument', async () => {
    const id = '65028c56-0807-4e6a-980c-62454c3758a7';
    await expectAllRefused('cli/erase.js', [
      [[], /--driver is required/],
      [['--driver=42'], /--driver must be a driver id/],
      [['--driver'], /--driver.*argument missing/],
      [['--driver', id, '--force'], /Unknown option '--force'/],
      [['--driver', id, '--wait', '--timeout=0'], /--timeout must be at least 1/],
      [['--driver', id, '--timeout', '10'], /--timeout goes with --wait/],
      [['--driver', id, 'now'], /unexpected argument '?now/i],
    ]);
  });

  it('--help prints the usage and exits 0', async () => {
    const result = await run('cli/erase.js', ['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm run erase/);
  });
});

describe('npm run chaos', () => {
  it('refuses an unknown option and out-of-range or invalid values without starting anything', async () => {
    await expectAllRefused('chaos/cli.js', [
      [['--bogus'], /Unknown option '--bogus'/],
      [['--duration=4'], /--duration must be at least 5 and at most 3600/],
      [['--rate', '201'], /--rate must be more than 0 and at most 200/],
      [['--rate=fast'], /--rate must be a number/],
      [['--broker-fault=flood'], /--broker-fault must be one of restart, cut, none/],
      [['--database-outage=601'], /--database-outage must be at least 0 and at most 600/],
    ]);
  });
});

describe('npm run bench', () => {
  it('refuses an unknown option and out-of-range or invalid values without starting anything', async () => {
    // Above the maximum used to be clamped silently; now the run asked for is the run made, or none.
    await expectAllRefused('bench/cli.js', [
      [['--bogus'], /Unknown option '--bogus'/],
      [['--duration=601'], /--duration must be more than 0 and at most 600/],
      [['--concurrency', '0'], /--concurrency must be at least 1/],
      [['--warmup=0x10'], /--warmup must be a number/],
      [['--registered-versions=3'], /--registered-versions must be 2 or 1,2/],
      [['--profile'], /--profile.*argument missing/],
    ]);
  });
});

describe('npm run bench:micro', () => {
  it('refuses an unknown option and out-of-range or invalid values without starting anything', async () => {
    await expectAllRefused('micro-bench/cli.js', [
      [['--bogus'], /Unknown option '--bogus'/],
      [['--duration=121'], /--duration must be more than 0 and at most 120/],
      [['--messages', '1.5'], /--messages must be a whole number/],
      [['--only=consume,bogus'], /--only takes consume, relay, gateway/],
    ]);
  });
});

describe('contracts tools', () => {
  const contractsTool = (name: string, args: string[]) => run(join('..', '..', 'contracts', 'dist', 'tools', name), args);

  it('contracts:check and asyncapi refuse an unknown option (a misspelt --snapshot ran the check instead)', async () => {
    expectRefused(await contractsTool('contracts-check.js', ['--snapshots']), /Unknown option '--snapshots'/);
    expectRefused(await contractsTool('asyncapi.js', ['--out=x.json']), /Unknown option '--out'/);
  });
});

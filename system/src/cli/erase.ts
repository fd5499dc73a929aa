import { randomUUID } from 'node:crypto';
import { service } from '@onboarding/contracts';
import { loadGatewayConfig, signDevToken } from '@onboarding/gateway';
import { numberOption, parseCommandLine } from './args';

const USAGE = `usage: npm run erase -- --driver ID [--wait] [--timeout SECONDS]

  --driver   the driver whose personal data is erased everywhere (a UUID); cannot be undone
  --wait     wait until every service has confirmed, then print the audit record
  --timeout  with --wait: give up after this many seconds (default 120, at most 3600; exit 1)

Calls POST /v1/drivers/ID/erasure through the gateway at GATEWAY_URL (default http://127.0.0.1:${service('gateway').port})
with the admin token in TOKEN, or, without TOKEN, a development admin token signed with the gateway's
JWT_SECRET (the local development key unless set). Prints the audit record (JSON) as its last line.
Both --name value and --name=value work; an unknown option or an invalid value is an error (exit 2).`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Answer {
  status: number;
  body: { status?: string | number; detail?: string } & Record<string, unknown>;
}

/** `npm run erase -- --driver ID [--wait]`: asks the platform to erase a driver, optionally until it is complete. */
async function main(): Promise<void> {
  const cli = parseCommandLine(USAGE, {
    driver: { type: 'string' },
    wait: { type: 'boolean', default: false },
    timeout: { type: 'string' },
  });
  const { wait } = cli.values;
  const driver = cli.values.driver ?? cli.fail('--driver is required');
  if (!UUID.test(driver)) cli.fail(`--driver must be a driver id (a UUID), not "${driver}"`);
  const timeoutSeconds = numberOption(cli, 'timeout', cli.values.timeout, { fallback: 120, min: 1, max: 3600, integer: true });
  if (cli.values.timeout !== undefined && !wait) cli.fail('--timeout goes with --wait');

  const gateway = (process.env.GATEWAY_URL || `http://127.0.0.1:${service('gateway').port}`).replace(/\/$/, '');
  const token = process.env.TOKEN || (await developmentAdminToken());
  const call = async (method: string): Promise<Answer> => {
    const response = await fetch(`${gateway}/v1/drivers/${driver}/erasure`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'x-request-id': randomUUID() },
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as Answer['body'] };
  };

  let answer = await call('POST');
  if (answer.status !== 200 && answer.status !== 202) {
    throw new Error(`the gateway answered ${answer.status}: ${answer.body.detail ?? JSON.stringify(answer.body)}`);
  }
  console.error(answer.status === 202 ? `erasure of driver ${driver} started` : `erasure of driver ${driver} was already asked for`);
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (wait && answer.body.status !== 'COMPLETE') {
    if (Date.now() > deadline) throw new Error(`not complete after ${timeoutSeconds} s: ${JSON.stringify(answer.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    answer = await call('GET');
    if (answer.status !== 200) throw new Error(`the gateway answered ${answer.status}: ${answer.body.detail ?? JSON.stringify(answer.body)}`);
  }
  console.log(JSON.stringify(answer.body));
}

async function developmentAdminToken(): Promise<string> {
  const config = loadGatewayConfig();
  return signDevToken({ secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, role: 'admin', subject: 'erase-cli' });
}

main().catch((err: Error) => {
  console.error(`erase: ${err.message}`);
  process.exit(1);
});

import { resolve } from 'node:path';
import amqplib from 'amqplib';
import pg from 'pg';
import { LOCAL_AMQP_URL, LOCAL_DATABASE_URL } from '@onboarding/service-kit';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { CONSUMING_SERVICES, SERVICES, type ServiceName } from '@onboarding/contracts';
import { MailCatcher } from '@onboarding/dev-mail';
import { SystemProcesses } from './system-processes';

const env = process.env;
const root = resolve(__dirname, '..', '..', '..');

function port(variable: string, fallback: number): number {
  const value = Number(env[variable] ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    console.error(`${variable} must be a port number, got "${env[variable]}"`);
    process.exit(2);
  }
  return value;
}

async function assertReachable(databaseUrl: string, amqpUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`PostgreSQL at DATABASE_URL does not answer: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  try {
    const connection = await amqplib.connect(amqpUrl, { timeout: 5_000 });
    await connection.close();
  } catch (err) {
    throw new Error(`RabbitMQ at AMQP_URL does not answer: ${(err as Error).message}`);
  }
}

const run = promisify(execFile);

interface Definitions {
  users: { name: string; password: string }[];
  permissions: { user: string; configure: string; write: string; read: string }[];
}

/**
 * Gives each service its own broker user, limited to its own queues and the exchange, as in
 * deploy/base/rabbitmq/definitions.json, when the broker is local and `rabbitmqctl` can set them up.
 * Returns the URL each service should use, or nothing (then every service uses AMQP_URL as given).
 */
async function leastPrivilegeUrls(amqpUrl: string): Promise<Partial<Record<ServiceName, string>> | undefined> {
  const url = new URL(amqpUrl);
  if (!['127.0.0.1', 'localhost', '::1'].includes(url.hostname)) return undefined;
  const definitions = JSON.parse(readFileSync(resolve(root, 'deploy/base/rabbitmq/definitions.json'), 'utf8')) as Definitions;
  const vhost = decodeURIComponent(url.pathname.replace(/^\//, '')) || '/';
  const urls: Partial<Record<ServiceName, string>> = {};
  try {
    const { stdout } = await run('rabbitmqctl', ['-q', 'list_users', '--no-table-headers'], { timeout: 30_000 });
    const existing = new Set(stdout.split('\n').map((line) => line.split(/\s+/)[0]));
    for (const { name: service } of CONSUMING_SERVICES) {
      const user = definitions.users.find((candidate) => candidate.name === service);
      const permission = definitions.permissions.find((candidate) => candidate.user === service);
      if (!user || !permission) continue;
      if (!existing.has(user.name)) await run('rabbitmqctl', ['-q', 'add_user', user.name, user.password], { timeout: 30_000 });
      await run('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, user.name, permission.configure, permission.write, permission.read], {
        timeout: 30_000,
      });
      const own = new URL(amqpUrl);
      own.username = user.name;
      own.password = user.password;
      urls[service] = own.toString();
    }
    return urls;
  } catch (err) {
    console.log(`note: could not set up per-service broker users (${(err as Error).message.split('\n')[0]}); every service uses AMQP_URL`);
    return undefined;
  }
}

async function main(): Promise<void> {
  const databaseUrl = env.DATABASE_URL || LOCAL_DATABASE_URL;
  const amqpUrl = env.AMQP_URL || LOCAL_AMQP_URL;
  await assertReachable(databaseUrl, amqpUrl);

  let catcher: MailCatcher | undefined;
  let smtpUrl = env.SMTP_URL;
  const mailDirectory = resolve(root, '.mail');
  if (!smtpUrl) {
    catcher = new MailCatcher({ port: port('MAIL_CATCHER_PORT', 1025), directory: mailDirectory });
    await catcher.start();
    smtpUrl = catcher.url;
    console.log(`mail catcher listening at ${smtpUrl}; every mail is saved as an .eml file in ${mailDirectory}`);
  }

  // DRIVER_PORT, GATEWAY_PORT, …: each service's port on this machine, its default from the list of services.
  const ports = Object.fromEntries(SERVICES.map((entry) => [entry.name, port(`${entry.name.toUpperCase()}_PORT`, entry.port)])) as Record<
    ServiceName,
    number
  >;
  const logDirectory = resolve(root, '.logs');
  const serviceAmqpUrls = await leastPrivilegeUrls(amqpUrl);
  if (serviceAmqpUrls) console.log('each service connects to RabbitMQ with its own user (deploy/base/rabbitmq/definitions.json)');
  const system = new SystemProcesses({
    databaseUrl,
    amqpUrl,
    serviceAmqpUrls,
    smtpUrl,
    ports,
    logDirectory,
    restartOnCrash: true,
    onEvent: (message) => console.log(message),
  });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping all services…');
    await system.stop();
    await catcher?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  console.log(`starting services (logs in ${logDirectory})…`);
  await system.start();
  console.log('');
  console.log(`the platform is up: gateway at ${system.gatewayUrl}`);
  console.log('get a token:   TOKEN=$(npm run -s token -- --role admin | tail -1)');
  console.log(
    `register:      curl -s -X POST ${system.gatewayUrl}/v1/drivers -H "authorization: Bearer $TOKEN" ` +
      `-H 'content-type: application/json' -d '{"firstName":"Ada","lastName":"Lovelace","email":"ada@example.com","phone":"+44 20 7946 0000"}'`,
  );
  console.log(`follow it:     curl -s ${system.gatewayUrl}/v1/drivers/<id> -H "authorization: Bearer $TOKEN"`);
  if (catcher) console.log(`welcome mails: ${mailDirectory}`);
  console.log('press Ctrl+C to stop');
}

main().catch((err: Error) => {
  console.error(`failed to start the system: ${err.message}`);
  process.exit(1);
});

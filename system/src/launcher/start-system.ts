import { resolve } from 'node:path';
import amqplib from 'amqplib';
import pg from 'pg';
import { LOCAL_AMQP_URL, LOCAL_DATABASE_URL } from '@onboarding/service-kit';
import { randomBytes } from 'node:crypto';
import { brokerAdmin, brokerDefinitions } from '@onboarding/broker-setup';
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

/**
 * Gives each service its own broker user on the local broker, with least-privilege permissions and a fresh
 * random password on every run (nothing to commit, nothing to leak), plus the shared exchanges: what the
 * deployment's broker set-up job does (packages/broker-setup), through `rabbitmqctl` here. Returns the URL
 * each service connects with. A service refuses to start as a shared user (it could not tell who published
 * what), so without `rabbitmqctl` on this machine the platform cannot start; the error says so.
 */
async function leastPrivilegeUrls(amqpUrl: string): Promise<Record<string, string>> {
  const vhost = decodeURIComponent(new URL(amqpUrl).pathname.replace(/^\//, '')) || '/';
  const services = CONSUMING_SERVICES.map(({ name }) => ({ service: name, password: randomBytes(18).toString('hex') }));
  try {
    await brokerAdmin(env.RABBITMQ_MANAGEMENT_URL).importDefinitions(brokerDefinitions({ vhost, services }));
  } catch (err) {
    throw new Error(
      `could not create the services' broker users (${(err as Error).message.split('\n')[0]}): run this where rabbitmqctl reaches the broker, ` +
        'or set RABBITMQ_MANAGEMENT_URL to its management API with administrator credentials',
    );
  }
  return Object.fromEntries(
    services.map(({ service, password }) => {
      const own = new URL(amqpUrl);
      own.username = service;
      own.password = password;
      return [service, own.toString()];
    }),
  );
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
  console.log('each service connects to RabbitMQ with its own user and a password made for this run');
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
  console.log(`admin console: ${system.gatewayUrl}/admin/ (development sign-in: "Sign in as admin" or "as dispatcher")`);
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

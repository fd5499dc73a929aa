#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { brokerDefinitions } from './access-rules';
import { brokerAdmin } from './broker-admin';
import { amqpUrlVariable, credentialsFromEnvironment } from './service-credentials';
import { CONSUMING_SERVICES } from '@onboarding/contracts';

const USAGE = `usage: broker-setup [--rabbitmqctl] [--print]

Creates (or updates) the platform's shared RabbitMQ objects and one user per service with least-privilege
permissions, from the contracts' event flow. Idempotent: run it before every deploy (a Job, a one-shot
compose service).

environment:
  RABBITMQ_MANAGEMENT_URL   the management API with an administrator's credentials (http://admin:…@rabbitmq:15672)
  ${CONSUMING_SERVICES.map(({ name }) => amqpUrlVariable(name)).join(', ')}
                            each service's broker URL, the same secret the service gets as AMQP_URL: its user
                            must be the service's name (after BROKER_USER_PREFIX), its password at least 16 characters
  BROKER_USER_PREFIX        prepended to every service's user name (default: none)

options:
  --rabbitmqctl   use rabbitmqctl on this machine instead of the management API
  --print         print the definitions, passwords masked, and change nothing`;

function main(): number {
  let values: { rabbitmqctl?: boolean; print?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { rabbitmqctl: { type: 'boolean' }, print: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const env = process.env;
  let definitions;
  try {
    const credentials = credentialsFromEnvironment(env, env.BROKER_USER_PREFIX ?? '');
    definitions = brokerDefinitions(credentials);
  } catch (err) {
    console.error(`broker-setup: ${(err as Error).message}`);
    return 1;
  }
  if (values.print) {
    console.log(JSON.stringify({ ...definitions, users: definitions.users.map((user) => ({ ...user, password: '***' })) }, null, 2));
    return 0;
  }
  const managementUrl = env.RABBITMQ_MANAGEMENT_URL;
  if (!values.rabbitmqctl && !managementUrl) {
    console.error('broker-setup: RABBITMQ_MANAGEMENT_URL is not set (or pass --rabbitmqctl on the broker machine)');
    return 1;
  }
  void brokerAdmin(values.rabbitmqctl ? undefined : managementUrl)
    .importDefinitions(definitions)
    .then(() => {
      console.log(
        `broker-setup: vhost ${definitions.vhosts[0]?.name}: ${definitions.users.map((user) => user.name).join(', ')} and the shared objects are in place`,
      );
    })
    .catch((err: Error) => {
      console.error(`broker-setup: ${err.message}`);
      process.exitCode = 1;
    });
  return 0;
}

process.exitCode = main();

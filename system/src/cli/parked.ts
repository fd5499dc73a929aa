import { LOCAL_AMQP_URL } from '@onboarding/service-kit';
import { CONSUMING_SERVICES } from '@onboarding/contracts';
import { UNROUTABLE_QUEUE, listParked, parkingQueueName, replayParked, type ParkedMessage } from '@onboarding/messaging';

const USAGE = `usage: npm run parked -- list|replay [--queue NAME] [--id MESSAGE_ID] [--reason REASON] [--limit N] [--dry-run]

  list     show parked messages (parking lots of every service and the unroutable queue); nothing is consumed
  replay   put the selected messages back on the queue they came from (unroutable ones on the exchange)
  --queue  a parking-lot queue, e.g. identity.events.parked (default: all)
  --id     only the message with this id
  --reason only messages parked for this reason (schema-validation, retries-exhausted, permanent-failure, ...)
  --dry-run  with replay: say what would be replayed, change nothing

Uses AMQP_URL (default ${LOCAL_AMQP_URL}).`;

function print(messages: ParkedMessage[], verb: string): void {
  for (const message of messages) {
    console.log(
      [
        message.queue,
        message.messageId ?? '-',
        message.type ?? '-',
        `reason=${message.reason}`,
        `attempts=${message.attempts}`,
        message.parkedAt ? `at=${message.parkedAt}` : '',
        message.error ? `error=${JSON.stringify(message.error)}` : '',
      ]
        .filter(Boolean)
        .join('  '),
    );
  }
  console.log(`${messages.length} message(s) ${verb}`);
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const option = (name: string) => {
    const index = rest.indexOf(`--${name}`);
    return index >= 0 ? rest[index + 1] : undefined;
  };
  if (command !== 'list' && command !== 'replay') {
    console.error(USAGE);
    process.exit(2);
  }
  const queue = option('queue');
  const options = {
    amqpUrl: process.env.AMQP_URL || LOCAL_AMQP_URL,
    queues: queue ? [queue] : [...CONSUMING_SERVICES.map((entry) => parkingQueueName(entry.queue)), UNROUTABLE_QUEUE],
    messageId: option('id'),
    reason: option('reason'),
    limit: option('limit') ? Number(option('limit')) : undefined,
  };
  if (command === 'list') {
    print(await listParked(options), 'parked');
    return;
  }
  const dryRun = rest.includes('--dry-run');
  print(await replayParked({ ...options, dryRun }), dryRun ? 'would be replayed (dry run)' : 'replayed');
}

main().catch((err: Error) => {
  console.error(`parked: ${err.message}`);
  process.exit(1);
});

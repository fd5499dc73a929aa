import { LOCAL_AMQP_URL } from '@onboarding/service-kit';
import { CONSUMING_SERVICES } from '@onboarding/contracts';
import { numberOption, parseCommandLine } from './args';
import { UNROUTABLE_QUEUE, listParked, parkingQueueName, replayParked, type ParkedMessage } from '@onboarding/messaging';

/** The queues a replay may read: every consuming service's parking lot and the unroutable queue. */
const PARKING_QUEUES = [...CONSUMING_SERVICES.map((entry) => parkingQueueName(entry.queue)), UNROUTABLE_QUEUE];

const USAGE = `usage: npm run parked -- list|replay [--queue NAME]... [--id MESSAGE_ID] [--reason REASON] [--limit N] [--dry-run]

  list       show parked messages (parking lots of every service and the unroutable queue); nothing is consumed
  replay     put the selected messages back on the queue they came from (unroutable ones on the exchange)
  --queue    only this parking-lot queue (repeat for several; default: all of them):
             ${PARKING_QUEUES.join(', ')}
  --id       only the message with this id
  --reason   only messages parked for this reason (schema-validation, retries-exhausted, permanent-failure, ...)
  --limit    look at most at N messages per queue (default 1000)
  --dry-run  with replay: say what would be replayed, change nothing

Both --name value and --name=value work; an unknown option or an invalid value is an error (exit 2) and
nothing is touched. Uses AMQP_URL (default ${LOCAL_AMQP_URL}).`;

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
  const cli = parseCommandLine(
    USAGE,
    {
      queue: { type: 'string', multiple: true },
      id: { type: 'string' },
      reason: { type: 'string' },
      limit: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
    { maxPositionals: 1 },
  );
  const [command] = cli.positionals;
  if (command !== 'list' && command !== 'replay') cli.fail(command === undefined ? 'say list or replay' : `unknown command "${command}"`);
  const { queue, id, reason, limit } = cli.values;
  const dryRun = cli.values['dry-run'];
  // A live queue named by mistake would otherwise be drained and republished: only parking lots qualify.
  const strangers = (queue ?? []).filter((name) => !PARKING_QUEUES.includes(name));
  if (strangers.length > 0) cli.fail(`--queue must name a parking lot, not ${strangers.join(', ')}`);
  if (dryRun && command === 'list') cli.fail('--dry-run goes with replay (list never changes anything)');
  for (const [name, value] of [
    ['id', id],
    ['reason', reason],
  ] as const) {
    if (value === '') cli.fail(`--${name} needs a value`);
  }
  const options = {
    amqpUrl: process.env.AMQP_URL || LOCAL_AMQP_URL,
    queues: queue ? [...new Set(queue)] : PARKING_QUEUES,
    messageId: id,
    reason,
    limit: numberOption(cli, 'limit', limit, { fallback: 1000, min: 1, max: 100_000, integer: true }),
  };
  if (command === 'list') {
    print(await listParked(options), 'parked');
    return;
  }
  print(await replayParked({ ...options, dryRun }), dryRun ? 'would be replayed (dry run)' : 'replayed');
}

main().catch((err: Error) => {
  console.error(`parked: ${err.message}`);
  process.exit(1);
});

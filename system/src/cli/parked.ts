import { LOCAL_AMQP_URL, LOCAL_DATABASE_URL, schemaVariable } from '@onboarding/service-kit';
import { CONSUMING_SERVICES } from '@onboarding/contracts';
import { numberOption, parseCommandLine } from './args';
import { UNROUTABLE_QUEUE, archiveParked, listParked, platformParkedTables, replayParked, type ParkedMessage } from '@onboarding/messaging';

/** The queues messages are parked from: every consuming service's work queue, and the unroutable queue. */
const SOURCE_QUEUES = [...CONSUMING_SERVICES.map((entry) => entry.queue), UNROUTABLE_QUEUE];

const USAGE = `usage: npm run parked -- list|replay|archive [--queue NAME]... [--id MESSAGE_ID] [--reason REASON] [--limit N] [--dry-run] [--all] [--payload]

  list       show parked messages (every service's parked-message table); reading a table consumes nothing
  replay     publish the selected messages again to the queue they were parked from (unroutable events to the
             queues consuming their type now), personal data put back; each row is marked replayed in the same
             step, so a message is replayed once. A message whose personal data is gone is refused, with why
  archive    mark the selected messages as dealt with (kept until PARKED_RETENTION, no longer listed)
  --queue    only messages parked from this queue (repeat for several; default: all of them):
             ${SOURCE_QUEUES.join(', ')}
             (the old parking-lot names, <queue>.parked, mean the same)
  --id       only the message with this id
  --reason   only messages parked for this reason (schema-validation, retries-exhausted, delivery-limit, unroutable, ...)
  --limit    at most N messages per service (default 1000)
  --dry-run  with replay or archive: say what would be done, change nothing
  --all      with list: replayed and archived messages too
  --payload  with list: show each message's payload (personal fields replaced)

Both --name value and --name=value work; an unknown option or an invalid value is an error (exit 2) and
nothing is touched. Uses DATABASE_URL (default ${LOCAL_DATABASE_URL}), each service's <NAME>_DB_SCHEMA (default
its name) and, to replay, AMQP_URL (default ${LOCAL_AMQP_URL}) as a broker administrator.`;

function print(messages: ParkedMessage[], verb: string, payload: boolean): void {
  for (const message of messages) {
    const state = message.archivedAt
      ? `archived=${message.archivedAt.toISOString()}`
      : message.replayedAt
        ? `replayed=${message.replayedAt.toISOString()}`
        : '';
    console.log(
      [
        message.sourceQueue,
        message.messageId,
        message.type ?? '-',
        `reason=${message.reason}`,
        `attempts=${message.attempts}`,
        `deliveries=${message.deliveryCount}`,
        `at=${message.parkedAt.toISOString()}`,
        state,
        message.hasPersonalData && !message.personalDataKept ? 'personal-data=gone' : '',
        message.error ? `error=${JSON.stringify(message.error)}` : '',
        payload ? `payload=${message.payload}` : '',
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
      all: { type: 'boolean', default: false },
      payload: { type: 'boolean', default: false },
    },
    { maxPositionals: 1 },
  );
  const [command] = cli.positionals;
  if (command !== 'list' && command !== 'replay' && command !== 'archive') {
    cli.fail(command === undefined ? 'say list, replay or archive' : `unknown command "${command}"`);
  }
  const { queue, id, reason, limit, all, payload } = cli.values;
  const dryRun = cli.values['dry-run'];
  const queues = queue?.map((name) => (name.endsWith('.parked') ? name.slice(0, -'.parked'.length) : name));
  // A queue nothing is parked from is a mistake (a typo would otherwise select nothing, silently).
  const strangers = (queues ?? []).filter((name) => !SOURCE_QUEUES.includes(name));
  if (strangers.length > 0) cli.fail(`--queue must name a queue messages are parked from, not ${strangers.join(', ')}`);
  if (dryRun && command === 'list') cli.fail('--dry-run goes with replay or archive (list never changes anything)');
  if ((all || payload) && command !== 'list') cli.fail(`--${all ? 'all' : 'payload'} goes with list`);
  for (const [name, value] of [
    ['id', id],
    ['reason', reason],
  ] as const) {
    if (value === '') cli.fail(`--${name} needs a value`);
  }
  const options = {
    ...platformParkedTables(process.env.DATABASE_URL || LOCAL_DATABASE_URL, (entry) => process.env[schemaVariable(entry.name)] || entry.schema),
    queues: queues ? [...new Set(queues)] : undefined,
    messageId: id,
    reason,
    limit: numberOption(cli, 'limit', limit, { fallback: 1000, min: 1, max: 100_000, integer: true }),
  };
  if (command === 'list') {
    print(await listParked({ ...options, includeSettled: all }), 'parked', payload);
    return;
  }
  if (command === 'archive') {
    print(await archiveParked({ ...options, dryRun }), dryRun ? 'would be archived (dry run)' : 'archived', false);
    return;
  }
  const result = await replayParked({ ...options, amqpUrl: process.env.AMQP_URL || LOCAL_AMQP_URL, dryRun });
  print(result.replayed, dryRun ? 'would be replayed (dry run)' : 'replayed', false);
  for (const { message, why } of result.refused) console.log(`refused: ${message.sourceQueue}  ${message.messageId}  ${why}`);
  if (result.refused.length > 0) {
    console.log(`${result.refused.length} message(s) refused`);
    process.exitCode = 1;
  }
}

main().catch((err: Error) => {
  console.error(`parked: ${err.message}`);
  process.exit(1);
});

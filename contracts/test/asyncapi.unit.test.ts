import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiagnosticSeverity, Parser, type Diagnostic } from '@asyncapi/parser';
import { allEvents, buildAsyncApiDocument } from '../src';

// The parser re-exports DiagnosticSeverity from another copy of @stoplight/types than its diagnostics are typed
// with; the value is the same (0), so name it in the diagnostics' own enum type.
const ERROR = DiagnosticSeverity.Error as number as Diagnostic['severity'];
const committed = JSON.parse(readFileSync(join(__dirname, '..', 'asyncapi.json'), 'utf8')) as Record<string, unknown>;

describe('AsyncAPI document', () => {
  it('is committed as generated from the contracts (run npm run asyncapi after changing a contract)', () => {
    expect(committed).toEqual(buildAsyncApiDocument());
  });

  it('is a valid AsyncAPI 3.0 document with a channel, message and operations per event version', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(committed));
    const errors = diagnostics.filter((diagnostic) => diagnostic.severity === ERROR);
    expect(errors.map((error) => `${error.path.join('/')}: ${error.message}`)).toEqual([]);
    expect(document).toBeDefined();
    const channels = document!
      .channels()
      .all()
      .map((channel) => channel.address());
    expect(channels.sort()).toEqual(allEvents.map((event) => event.routingKey).sort());
    const registered = document!.channels().get('driver.registered.v2')!;
    expect(registered.bindings().get('amqp')?.value()).toMatchObject({ is: 'routingKey', exchange: { name: 'onboarding.events', type: 'topic' } });
    const receivers = document!
      .operations()
      .filterByReceive()
      .map((operation) => operation.id());
    expect(receivers).toEqual(expect.arrayContaining(['identity.receive.driver.registered.v2', 'mailer.receive.driver.activated.v1']));
  });
});

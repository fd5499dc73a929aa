import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import { allEvents, buildAsyncApiDocument } from '../src';

const committed = JSON.parse(readFileSync(join(__dirname, '..', 'asyncapi.json'), 'utf8')) as Record<string, unknown>;

describe('AsyncAPI document', () => {
  it('is committed as generated from the contracts (run npm run asyncapi after changing a contract)', () => {
    expect(committed).toEqual(buildAsyncApiDocument());
  });

  it('is a valid AsyncAPI 3.0 document with a channel, message and operations per event version', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(committed));
    const errors = diagnostics.filter((diagnostic) => diagnostic.severity === 0);
    expect(errors.map((error) => `${error.path.join('/')}: ${error.message}`)).toEqual([]);
    expect(document).toBeDefined();
    const channels = document!.channels().all().map((channel) => channel.address());
    expect(channels.sort()).toEqual(allEvents.map((event) => event.routingKey).sort());
    const registered = document!.channels().get('driver.registered.v2')!;
    expect(registered.bindings().get('amqp')?.value()).toMatchObject({ is: 'routingKey', exchange: { name: 'onboarding.events', type: 'topic' } });
    const receivers = document!.operations().filterByReceive().map((operation) => operation.id());
    expect(receivers).toEqual(expect.arrayContaining(['identity.receive.driver.registered.v2', 'mailer.receive.driver.activated.v1']));
  });
});

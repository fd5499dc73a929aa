import { EVENT_AUDITORS, allEvents, eventFlow } from './catalog';
import { CloudEventAttributes, type EventContract } from './envelope';

const AMQP_BINDING_VERSION = '0.3.0';
const EXCHANGE = 'onboarding.events';

function messageName(contract: EventContract): string {
  const words = contract.type.split(/[.-]/).map((word) => word.charAt(0).toUpperCase() + word.slice(1));
  return `${words.join('')}V${contract.version}`;
}

function json(value: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

/** The whole envelope of one event: the CloudEvents attributes plus this event's `data`. */
function payloadOf(contract: EventContract): Record<string, unknown> {
  const attributes = json(CloudEventAttributes) as { properties: Record<string, unknown>; required: string[] };
  return {
    type: 'object',
    required: [...attributes.required, 'data'],
    properties: {
      ...attributes.properties,
      type: { type: 'string', const: contract.type },
      dataversion: { type: 'integer', const: contract.version },
      dataschema: { type: 'string', const: contract.dataschema },
      data: json(contract.schema),
    },
  };
}

/**
 * AsyncAPI 3.0 description of every channel (routing key on the `onboarding.events` topic exchange),
 * message and who sends or receives it, generated from the contracts.
 */
export function buildAsyncApiDocument(contracts: readonly EventContract[] = allEvents): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const contract of contracts) {
    const name = messageName(contract);
    const channelId = contract.routingKey;
    const flow = eventFlow[contract.routingKey];
    messages[name] = {
      name: contract.type,
      title: `${contract.type} v${contract.version}`,
      contentType: 'application/cloudevents+json',
      correlationId: { description: 'The saga the event belongs to', location: '$message.payload#/correlationid' },
      headers: {
        type: 'object',
        properties: {
          traceparent: { type: 'string', description: 'W3C trace context of the transaction that wrote the event' },
          tracestate: { type: 'string' },
        },
      },
      payload: payloadOf(contract),
      bindings: { amqp: { messageType: contract.type, bindingVersion: AMQP_BINDING_VERSION } },
    };
    channels[channelId] = {
      address: contract.routingKey,
      description: `Routing key ${contract.routingKey} on the ${EXCHANGE} topic exchange`,
      messages: { [name]: { $ref: `#/components/messages/${name}` } },
      bindings: {
        amqp: {
          is: 'routingKey',
          exchange: { name: EXCHANGE, type: 'topic', durable: true, autoDelete: false, vhost: '/' },
          bindingVersion: AMQP_BINDING_VERSION,
        },
      },
    };
    const messageRef = [{ $ref: `#/channels/${channelId}/messages/${name}` }];
    if (flow) {
      operations[`${flow.producer}.send.${channelId}`] = {
        action: 'send',
        title: `${flow.producer} publishes ${contract.routingKey}`,
        description: 'Written to the outbox in the transaction of the state change; published after commit with publisher confirms.',
        channel: { $ref: `#/channels/${channelId}` },
        messages: messageRef,
        bindings: { amqp: { deliveryMode: 2, mandatory: false, bindingVersion: AMQP_BINDING_VERSION } },
      };
      for (const consumer of flow.consumers) {
        operations[`${consumer}.receive.${channelId}`] = {
          action: 'receive',
          title: `${consumer} consumes ${contract.routingKey} from the ${consumer}.events quorum queue`,
          channel: { $ref: `#/channels/${channelId}` },
          messages: messageRef,
          bindings: { amqp: { ack: true, bindingVersion: AMQP_BINDING_VERSION } },
        };
      }
      for (const auditor of EVENT_AUDITORS) {
        operations[`${auditor}.receive.${channelId}`] = {
          action: 'receive',
          title: `${auditor} keeps an audit copy of ${contract.routingKey} from the ${auditor}.events quorum queue`,
          channel: { $ref: `#/channels/${channelId}` },
          messages: messageRef,
          bindings: { amqp: { ack: true, bindingVersion: AMQP_BINDING_VERSION } },
        };
      }
    }
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Driver onboarding platform events',
      version: '1.0.0',
      description:
        'Domain events of the driver registration saga. Every message is a CloudEvents 1.0 structured JSON envelope; ' +
        'the routing key is the event type plus its major version. Generated from contracts/src; do not edit.',
    },
    defaultContentType: 'application/cloudevents+json',
    servers: {
      local: {
        host: '127.0.0.1:5672',
        protocol: 'amqp',
        protocolVersion: '0-9-1',
        description: 'RabbitMQ; each service uses its own queues bound to the onboarding.events exchange',
      },
    },
    channels,
    operations,
    components: { messages },
  };
}

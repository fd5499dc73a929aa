import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { randomUUID } from 'node:crypto';
import { Timestamp } from './fields';

/**
 * CloudEvents 1.0 structured envelope (JSON). `subject` is the aggregate id; `correlationid` ties every
 * event of one saga together and `causationid` names the message that caused this one.
 */
export const CloudEventAttributes = Type.Object(
  {
    specversion: Type.Literal('1.0'),
    id: Type.String({ minLength: 1, maxLength: 200 }),
    source: Type.String({ minLength: 1 }),
    type: Type.String({ minLength: 1 }),
    time: Timestamp,
    datacontenttype: Type.Literal('application/json'),
    dataschema: Type.String({ format: 'uri-reference' }),
    dataversion: Type.Integer({ minimum: 1 }),
    subject: Type.String({ minLength: 1 }),
    correlationid: Type.String({ minLength: 1 }),
    causationid: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: true },
);

export const CloudEvent = Type.Composite([CloudEventAttributes, Type.Object({ data: Type.Unknown() })], {
  additionalProperties: true,
});
export type CloudEvent<TData = unknown> = Omit<Static<typeof CloudEvent>, 'data'> & { data: TData };

/** One event type at one major version: the unit that routing keys, queues and schemas are built from. */
export interface EventContract<TSchemaT extends TSchema = TSchema> {
  readonly type: string;
  readonly version: number;
  /** Routing key on the domain exchange: `<type>.v<major>`. */
  readonly routingKey: string;
  readonly dataschema: string;
  readonly schema: TSchemaT;
}

export type EventData<C extends EventContract> = Static<C['schema']>;

export function defineEvent<TSchemaT extends TSchema>(type: string, version: number, schema: TSchemaT): EventContract<TSchemaT> {
  return {
    type,
    version,
    routingKey: `${type}.v${version}`,
    dataschema: `urn:onboarding:schema:${type}:v${version}`,
    schema,
  };
}

export interface EnvelopeOptions {
  source: string;
  subject: string;
  correlationId: string;
  causationId?: string;
  id?: string;
  time?: Date;
}

export function createEnvelope<C extends EventContract>(contract: C, data: EventData<C>, options: EnvelopeOptions): CloudEvent<EventData<C>> {
  const envelope: CloudEvent<EventData<C>> = {
    specversion: '1.0',
    id: options.id ?? randomUUID(),
    source: options.source,
    type: contract.type,
    time: (options.time ?? new Date()).toISOString(),
    datacontenttype: 'application/json',
    dataschema: contract.dataschema,
    dataversion: contract.version,
    subject: options.subject,
    correlationid: options.correlationId,
    data,
  };
  if (options.causationId !== undefined) envelope.causationid = options.causationId;
  return envelope;
}

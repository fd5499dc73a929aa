import type { Broker } from './broker';
import { withPublishSpan, type MessagingObserver } from './observability';
import { CLOUDEVENTS_CONTENT_TYPE, DOMAIN_EXCHANGE } from './topology';

/** One outbox row as it goes to the broker, whoever publishes it (the publisher after commit, or the relay). */
export interface OutboxRowToPublish {
  id: string;
  type: string;
  routingKey: string;
  /** The envelope's JSON text: the message body. */
  body: string;
  /** What the row stored with the event: the trace context of the transaction that wrote it. */
  headers: Record<string, string>;
  correlationId: string | null;
  createdAt: Date;
}

/**
 * Publishes one outbox row to the domain exchange and resolves once the broker confirmed it. The one definition of
 * how an outbox row is published, shared by the in-process publisher and the relay so that a message reads the same
 * whichever of them sent it: a PRODUCER span parented by the row's stored trace context, whose own context travels
 * in the headers beside the stored ones, the row's id as message id, its creation second as timestamp.
 */
export function publishOutboxRow(broker: Broker, row: OutboxRowToPublish, observer?: MessagingObserver): Promise<void> {
  const attributes = {
    'messaging.message.id': row.id,
    'messaging.message.body.size': Buffer.byteLength(row.body),
    ...(row.correlationId ? { 'messaging.message.conversation_id': row.correlationId } : {}),
  };
  return withPublishSpan(row.routingKey, row.headers, attributes, async (traceHeaders) => {
    await broker.publish(DOMAIN_EXCHANGE, row.routingKey, Buffer.from(row.body), {
      messageId: row.id,
      type: row.type,
      correlationId: row.correlationId ?? undefined,
      timestamp: Math.floor(row.createdAt.getTime() / 1000),
      contentType: CLOUDEVENTS_CONTENT_TYPE,
      headers: { ...row.headers, ...traceHeaders },
    });
    observer?.published?.(row.routingKey);
  });
}

/**
 * `'{…}'::uuid[]` of the ids, inlined (the simple protocol, which lets several statements travel in one round trip,
 * takes no parameters); each id is checked to be a UUID first.
 */
export function uuidArrayLiteral(ids: readonly string[]): string {
  for (const id of ids) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new Error(`outbox id is not a UUID: ${id}`);
  }
  return `'{${ids.join(',')}}'::uuid[]`;
}

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { MessagingObserver, ProcessingOutcome } from './observability';

/**
 * The messaging runtime's metrics, registered into the service's registry (served with its /metrics):
 * publishes, processing outcomes and time, retries, parked messages and, once `watchOutbox` is called, the
 * outbox backlog.
 */
export class MessagingMetrics implements MessagingObserver {
  private readonly outboxPublished: Counter<'routing_key'>;
  private readonly processedTotal: Counter<'queue' | 'routing_key' | 'outcome'>;
  private readonly processingSeconds: Histogram<'queue' | 'routing_key'>;
  private readonly retries: Counter<'queue' | 'routing_key'>;
  private readonly parkedTotal: Counter<'queue' | 'reason'>;

  constructor(private readonly registry: Registry) {
    const registers = [registry];
    this.outboxPublished = new Counter({
      name: 'outbox_published_total',
      help: 'Outbox events published and confirmed by the broker',
      labelNames: ['routing_key'],
      registers,
    });
    this.processedTotal = new Counter({
      name: 'messages_processed_total',
      help: 'Deliveries settled by the consumer, by outcome (processed, duplicate, retried, parked, handed-to-saga, returned)',
      labelNames: ['queue', 'routing_key', 'outcome'],
      registers,
    });
    this.processingSeconds = new Histogram({
      name: 'message_processing_seconds',
      help: 'Time from delivery to settlement of one message',
      labelNames: ['queue', 'routing_key'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.retries = new Counter({
      name: 'message_retries_total',
      help: 'Messages sent to a delay queue for another attempt',
      labelNames: ['queue', 'routing_key'],
      registers,
    });
    this.parkedTotal = new Counter({
      name: 'messages_parked_total',
      help: 'Messages moved to the parking lot, by reason',
      labelNames: ['queue', 'reason'],
      registers,
    });
  }

  published(routingKey: string): void {
    this.outboxPublished.inc({ routing_key: routingKey });
  }

  processed(queue: string, routingKey: string, outcome: ProcessingOutcome, seconds: number): void {
    this.processedTotal.inc({ queue, routing_key: routingKey, outcome });
    this.processingSeconds.observe({ queue, routing_key: routingKey }, seconds);
    if (outcome === 'retried') this.retries.inc({ queue, routing_key: routingKey });
  }

  parked(queue: string, reason: string): void {
    this.parkedTotal.inc({ queue, reason });
  }

  /** Outbox backlog and the age of its oldest row, read from the database when scraped. */
  watchOutbox(relay: { backlog(): Promise<{ count: number; oldestAgeMs: number }> }): void {
    let last: Promise<{ count: number; oldestAgeMs: number }> | undefined;
    const read = () => (last ??= relay.backlog().finally(() => setTimeout(() => (last = undefined), 0)));
    new Gauge({
      name: 'outbox_backlog',
      help: 'Outbox events committed and not yet published',
      registers: [this.registry],
      async collect() {
        this.set((await read()).count);
      },
    });
    new Gauge({
      name: 'outbox_oldest_age_seconds',
      help: 'Age of the oldest unpublished outbox event',
      registers: [this.registry],
      async collect() {
        this.set((await read()).oldestAgeMs / 1000);
      },
    });
  }

  /**
   * Open parked messages (neither replayed nor archived) in this service's table, read from the database when
   * scraped: the operations overview and any alerting read the parked count here, since no one else may read
   * the service's tables.
   */
  watchParked(countOpen: () => Promise<number>): void {
    new Gauge({
      name: 'parked_messages',
      help: "Parked messages in this service's table that were neither replayed nor archived",
      registers: [this.registry],
      async collect() {
        this.set(await countOpen());
      },
    });
  }
}

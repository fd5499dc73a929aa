import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MessagingObserver, OutboxRelay, ProcessingOutcome } from '@onboarding/messaging';
import type { RemoteCallBreaker } from './breaker';

const BREAKER_STATE = { closed: 0, 'half-open': 1, open: 2 } as const;

/**
 * One service's metrics in Prometheus format (served at /metrics): process defaults, the outbox, message
 * processing, breakers and the saga. A registry per service instance, so tests can run several in one process.
 */
export class ServiceMetrics implements MessagingObserver {
  readonly registry = new Registry();
  private readonly outboxPublished: Counter<'routing_key'>;
  private readonly processedTotal: Counter<'queue' | 'routing_key' | 'outcome'>;
  private readonly processingSeconds: Histogram<'queue' | 'routing_key'>;
  private readonly retries: Counter<'queue' | 'routing_key'>;
  private readonly parkedTotal: Counter<'queue' | 'reason'>;
  private readonly sagaOutcomes: Counter<'outcome' | 'reason'>;
  private readonly registrationSeconds: Histogram;

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.outboxPublished = new Counter({
      name: 'outbox_published_total',
      help: 'Outbox events published and confirmed by the broker',
      labelNames: ['routing_key'],
      registers,
    });
    this.processedTotal = new Counter({
      name: 'messages_processed_total',
      help: 'Deliveries settled by the consumer, by outcome (processed, duplicate, retried, parked, handed-to-saga)',
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
    this.sagaOutcomes = new Counter({
      name: 'saga_outcomes_total',
      help: 'Registration saga outcomes: activated, failed (by reason), compensated',
      labelNames: ['outcome', 'reason'],
      registers,
    });
    this.registrationSeconds = new Histogram({
      name: 'registration_to_activation_seconds',
      help: 'Time from a registration to the activation of the driver',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
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

  sagaOutcome(outcome: 'activated' | 'failed' | 'compensated', reason = ''): void {
    this.sagaOutcomes.inc({ outcome, reason });
  }

  registrationActivated(seconds: number): void {
    this.registrationSeconds.observe(seconds);
  }

  /** Outbox backlog and the age of its oldest row, read from the database when scraped. */
  watchOutbox(relay: OutboxRelay): void {
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

  watchBreakers(breakers: RemoteCallBreaker[]): void {
    new Gauge({
      name: 'circuit_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
      labelNames: ['breaker'],
      registers: [this.registry],
      collect() {
        for (const breaker of breakers) this.set({ breaker: breaker.name }, BREAKER_STATE[breaker.state]);
      },
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

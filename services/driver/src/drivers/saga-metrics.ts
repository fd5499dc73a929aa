import { Counter, Histogram, type Registry } from 'prom-client';

/** The registration saga's own metrics, in the driver service's registry (served with its /metrics). */
export class SagaMetrics {
  private readonly sagaOutcomes: Counter<'outcome' | 'reason'>;
  private readonly registrationSeconds: Histogram;

  constructor(registry: Registry) {
    this.sagaOutcomes = new Counter({
      name: 'saga_outcomes_total',
      help: 'Registration saga outcomes: activated, failed (by reason), compensated',
      labelNames: ['outcome', 'reason'],
      registers: [registry],
    });
    this.registrationSeconds = new Histogram({
      name: 'registration_to_activation_seconds',
      help: 'Time from a registration to the activation of the driver',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
  }

  sagaOutcome(outcome: 'activated' | 'failed' | 'compensated', reason = ''): void {
    this.sagaOutcomes.inc({ outcome, reason });
  }

  registrationActivated(seconds: number): void {
    this.registrationSeconds.observe(seconds);
  }
}

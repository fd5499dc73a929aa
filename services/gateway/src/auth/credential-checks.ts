import { Counter, type Registry } from 'prom-client';

/** The credentials the gateway checks: a bearer token, or the console's session cookie. */
export type CredentialKind = 'bearer' | 'session';

/** `verified`: its signature was checked and held; `cached`: a token verified before, still valid; `refused`. */
export type CheckOutcome = 'verified' | 'cached' | 'refused';

/**
 * `gateway_credential_checks_total{credential, outcome}`: how many credentials were verified, taken from the cache or
 * refused, so the cache's hit rate shows in /metrics. Only these two labels, never a token, subject or role.
 */
export class CredentialChecks {
  private readonly checks: Counter<'credential' | 'outcome'>;

  constructor(registry: Registry) {
    this.checks = new Counter({
      name: 'gateway_credential_checks_total',
      help: 'Credentials checked by the gateway: verified (signature checked), cached (verified before, still valid) or refused',
      labelNames: ['credential', 'outcome'],
      registers: [registry],
    });
  }

  /** A counter of one credential kind's outcomes; each outcome's series is resolved once, not per request. */
  counterFor(credential: CredentialKind): (outcome: CheckOutcome) => void {
    const series = {
      verified: this.checks.labels({ credential, outcome: 'verified' }),
      cached: this.checks.labels({ credential, outcome: 'cached' }),
      refused: this.checks.labels({ credential, outcome: 'refused' }),
    };
    return (outcome) => series[outcome].inc();
  }
}

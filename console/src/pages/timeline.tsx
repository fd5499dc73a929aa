import type { DriverHistory, RegistrationTimeline } from '@onboarding/contracts';
import { BASE, linkHandler } from '../router';

/** One entry of the driver service's own history, as a dispatcher sees it (operations is admin-only). */
export interface TimelineStep {
  at: string;
  title: string;
  status?: string;
  detail?: string;
  by?: string;
}

export function historySteps(history: DriverHistory): TimelineStep[] {
  return history.items.map((item) => ({
    at: item.at,
    title: item.type,
    status: item.status,
    detail: item.detail,
    by: item.actor ?? (item.messageId ? 'saga' : undefined),
  }));
}

export function Timeline({ steps }: { steps: readonly TimelineStep[] }) {
  if (steps.length === 0) return <p>Nothing has happened yet.</p>;
  return (
    <ol class="timeline">
      {steps.map((step, index) => (
        <li key={`${step.at}-${index}`}>
          <time dateTime={step.at}>{new Date(step.at).toLocaleString()}</time> <strong>{step.title}</strong>
          {step.status && <span> → {step.status}</span>}
          {step.by && <span class="muted"> by {step.by}</span>}
          {step.detail && <div class="muted">{step.detail}</div>}
        </li>
      ))}
    </ol>
  );
}

/** What each saga step (the operations service's names) reads as; an unknown step shows its own name. */
const STEP_TITLES: Readonly<Record<string, string>> = {
  registered: 'Registered',
  'account-created': 'Directory account created',
  'account-creation-failed': 'Directory account refused',
  activated: 'Activated',
  'welcome-mail-sent': 'Welcome mail sent',
  'admins-notified': 'Admins notified',
  'registration-failed': 'Registration failed',
  'activation-rejected': 'Activation rejected',
  'account-deleted': 'Directory account deleted',
  updated: 'Updated',
  'account-updated': 'Directory account updated',
  deleted: 'Deleted',
  erased: 'Personal data erased',
  'data-erased': 'Personal data erased by a service',
  outcome: 'an outcome (activated or failed)',
};

export const stepTitle = (step: string): string => STEP_TITLES[step] ?? step;

/**
 * The registration's saga as the operations service saw it (every service's events, by driver): each step with its
 * time, the service that did it, the attempts it took, its refusal reason, compensation and failure marked in
 * words (never by colour alone), and a link to its trace when a trace UI is configured.
 */
export function SagaTimeline({ timeline }: { timeline: RegistrationTimeline }) {
  return (
    <>
      <p role="status" class={timeline.complete ? 'ok' : 'muted'}>
        {timeline.complete ? (
          <>
            <strong>Complete</strong>: {timeline.outcome}
          </>
        ) : (
          <>
            <strong>In progress</strong> ({timeline.outcome}), waiting for: {timeline.missing.map(stepTitle).join(', ')}
          </>
        )}
      </p>
      <ol class="timeline saga">
        {timeline.steps.map((step) => (
          <li key={step.eventId} class={step.compensation ? 'compensation' : step.failure ? 'failure' : undefined} data-step={step.step}>
            <time dateTime={step.at}>{new Date(step.at).toLocaleString()}</time> <strong>{stepTitle(step.step)}</strong>
            {step.compensation && <span class="tag tag-compensation">compensation</span>}
            {step.failure && <span class="tag tag-failure">failure</span>}
            <span class="muted">
              {' '}
              by {step.service} · {step.eventType} v{step.versions.join(', v')}
              {step.attempts !== undefined && ` · ${step.attempts} ${step.attempts === 1 ? 'attempt' : 'attempts'}`}
            </span>
            {step.traceUrl && (
              <>
                {' '}
                <a href={step.traceUrl} rel="noreferrer" target="_blank">
                  trace
                </a>
              </>
            )}
            {(step.reason ?? step.code) && (
              <div class="reason">
                Reason: {step.reason ?? ''}
                {step.code && <span class="muted"> ({step.code})</span>}
              </div>
            )}
          </li>
        ))}
      </ol>
      {timeline.parked && timeline.parked.length > 0 && (
        <section aria-labelledby="parked-heading" class="parked-about">
          <h3 id="parked-heading">Parked messages about this driver</h3>
          <p class="muted">
            A missing step may be waiting on one of these: replay or archive it on{' '}
            <a href={`${BASE}/failures`} onClick={linkHandler('/failures')}>
              Failures
            </a>
            .
          </p>
          <ul>
            {timeline.parked.map((message) => (
              <li key={`${message.service}/${message.id}`} data-parked-reason={message.reason}>
                <time dateTime={message.parkedAt}>{new Date(message.parkedAt).toLocaleString()}</time> parked by <strong>{message.service}</strong>{' '}
                from {message.sourceQueue}: <strong>{message.reason}</strong>
                <span class="muted">
                  {' '}
                  · {message.type ?? 'a message of unknown type'} · {message.attempts} {message.attempts === 1 ? 'attempt' : 'attempts'}
                </span>
                <div class="reason">{message.error}</div>
              </li>
            ))}
          </ul>
        </section>
      )}
      {timeline.parkedUnreachable && timeline.parkedUnreachable.length > 0 && (
        <p class="muted">Parked messages not checked in (no answer): {timeline.parkedUnreachable.join(', ')}</p>
      )}
    </>
  );
}

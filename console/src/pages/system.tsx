import { useState } from 'preact/hooks';
import type { OverviewQuery, SagaOutcomeBucket, ServiceOverview, SystemOverview } from '@onboarding/contracts';
import { api, messageOf } from '../api';
import { usePolling } from '../live';

/** The overview probes every service and the broker, so it is read less often than the driver pages. */
const REFRESH_MS = 10_000;

type Bucket = NonNullable<OverviewQuery['bucket']>;
interface ChartWindow {
  label: string;
  spanMs: number;
  bucket: Bucket;
  bucketMs: number;
}
const WINDOWS: Readonly<Record<'hour' | 'day', ChartWindow>> = {
  hour: { label: 'Last hour', spanMs: 3_600_000, bucket: '5m', bucketMs: 300_000 },
  day: { label: 'Last day', spanMs: 86_400_000, bucket: '1h', bucketMs: 3_600_000 },
};
type WindowKey = keyof typeof WINDOWS;

/** The window ends at the next bucket boundary, so bars are whole minutes or hours and the last one holds now. */
function overviewPath(chartWindow: ChartWindow, now = Date.now()): string {
  const to = Math.ceil(now / chartWindow.bucketMs) * chartWindow.bucketMs;
  const params = new URLSearchParams({
    from: new Date(to - chartWindow.spanMs).toISOString(),
    to: new Date(to).toISOString(),
    bucket: chartWindow.bucket,
  });
  return `/v1/operations/overview?${params.toString()}`;
}

const number = (value: number | null | undefined): string => (value === null || value === undefined ? 'unknown' : String(value));

function age(seconds: number | null): string {
  if (seconds === null) return 'unknown';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3_600)} h`;
}

const pairs = (record: Record<string, string> | null): string =>
  record === null
    ? 'unknown'
    : Object.entries(record)
        .map(([name, value]) => `${name}: ${value}`)
        .join(', ') || '—';

function ServicesTable({ overview }: { overview: SystemOverview }) {
  return (
    <table>
      <caption>Services: readiness, breakers, outbox and parked messages</caption>
      <thead>
        <tr>
          <th scope="col">Service</th>
          <th scope="col">Status</th>
          <th scope="col">Checks</th>
          <th scope="col">Breakers</th>
          <th scope="col">Outbox backlog</th>
          <th scope="col">Oldest in outbox</th>
          <th scope="col">Parked</th>
        </tr>
      </thead>
      <tbody>
        {overview.services.map((service: ServiceOverview) => (
          <tr key={service.service} data-service={service.service}>
            <th scope="row">{service.service}</th>
            <td>
              <span class={`health health-${service.status}`}>{service.status}</span>
            </td>
            <td>{pairs(service.checks)}</td>
            <td>{pairs(service.breakers)}</td>
            <td>{service.outboxBacklog === null ? '—' : service.outboxBacklog}</td>
            <td>{service.outboxBacklog === null ? '—' : age(service.outboxOldestAgeSeconds)}</td>
            <td>
              {/* The gateway has no messaging, so no parked messages: a dash, not "unknown". */}
              {service.service in overview.parked
                ? number(overview.parked[service.service])
                : service.parkedMessages === null
                  ? '—'
                  : service.parkedMessages}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function QueuesTable({ overview }: { overview: SystemOverview }) {
  return (
    <table>
      <caption>Queue depths (messages ready on the broker)</caption>
      <thead>
        <tr>
          <th scope="col">Queue</th>
          <th scope="col">Service</th>
          <th scope="col">Kind</th>
          <th scope="col">Messages</th>
          <th scope="col">Consumers</th>
        </tr>
      </thead>
      <tbody>
        {overview.queues.map((queue) => (
          <tr key={queue.queue}>
            <th scope="row">{queue.queue}</th>
            <td>{queue.service ?? 'shared'}</td>
            <td>{queue.kind}</td>
            <td>{number(queue.messages)}</td>
            <td>{number(queue.consumers)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const SERIES = [
  { key: 'active', label: 'activated', className: 'bar-active' },
  { key: 'failed', label: 'failed', className: 'bar-failed' },
  { key: 'compensated', label: 'compensated', className: 'bar-compensated' },
] as const;

const bucketLabel = (start: string, chartWindow: ChartWindow): string =>
  new Date(start).toLocaleTimeString([], chartWindow.bucketMs >= 3_600_000 ? { hour: '2-digit' } : { hour: '2-digit', minute: '2-digit' });

/**
 * Saga outcomes per bucket as grouped bars (a registration that failed after its account was created counts as
 * failed and as compensated, so stacking would double it). Drawn as SVG here rather than with a charting library:
 * three series of bars need a few dozen lines, no dependency, and no inline styles (the console's CSP forbids
 * them, which several chart libraries rely on). The same numbers are in the table below it for screen readers.
 */
function OutcomeChart({ buckets, chartWindow }: { buckets: readonly SagaOutcomeBucket[]; chartWindow: ChartWindow }) {
  const width = 760;
  const height = 240;
  const left = 40;
  const bottom = 36;
  const top = 12;
  const plotHeight = height - top - bottom;
  const max = Math.max(1, ...buckets.flatMap((bucket) => [bucket.active, bucket.failed, bucket.compensated]));
  const slot = (width - left - 8) / Math.max(1, buckets.length);
  const bar = Math.max(2, (slot - 4) / SERIES.length);
  const y = (value: number) => top + plotHeight - (value / max) * plotHeight;
  const labelEvery = Math.ceil(buckets.length / 12);
  const totals = SERIES.map((series) => `${buckets.reduce((sum, bucket) => sum + bucket[series.key], 0)} ${series.label}`).join(', ');
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby="outcomes-title outcomes-desc">
        <title id="outcomes-title">Saga outcomes, {chartWindow.label.toLowerCase()}</title>
        <desc id="outcomes-desc">
          Registrations per {chartWindow.bucket}: {totals}.
        </desc>
        {[0, Math.ceil(max / 2), max].map((tick) => (
          <g key={tick}>
            <line class="grid-line" x1={left} x2={width - 8} y1={y(tick)} y2={y(tick)} />
            <text class="axis" x={left - 6} y={y(tick) + 4} text-anchor="end">
              {tick}
            </text>
          </g>
        ))}
        {buckets.map((bucket, index) => {
          const x = left + index * slot + 2;
          return (
            <g key={bucket.start}>
              <title>
                {bucketLabel(bucket.start, chartWindow)}: {SERIES.map((series) => `${bucket[series.key]} ${series.label}`).join(', ')}
              </title>
              {SERIES.map((series, offset) => (
                <rect
                  key={series.key}
                  class={series.className}
                  x={x + offset * bar}
                  y={y(bucket[series.key])}
                  width={bar - 1}
                  height={top + plotHeight - y(bucket[series.key])}
                />
              ))}
              {index % labelEvery === 0 && (
                <text class="axis" x={x + slot / 2} y={height - bottom + 16} text-anchor="middle">
                  {bucketLabel(bucket.start, chartWindow)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul class="legend">
          {SERIES.map((series) => (
            <li key={series.key}>
              <span class={`swatch ${series.className}`} aria-hidden="true" /> {series.label}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}

function OutcomeTable({ buckets, chartWindow }: { buckets: readonly SagaOutcomeBucket[]; chartWindow: ChartWindow }) {
  return (
    <details>
      <summary>Saga outcomes as a table</summary>
      <table>
        <caption>Registrations per {chartWindow.bucket}</caption>
        <thead>
          <tr>
            <th scope="col">From</th>
            {SERIES.map((series) => (
              <th scope="col" key={series.key}>
                {series.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {buckets.map((bucket) => (
            <tr key={bucket.start}>
              <th scope="row">
                <time dateTime={bucket.start}>{new Date(bucket.start).toLocaleString()}</time>
              </th>
              {SERIES.map((series) => (
                <td key={series.key}>{bucket[series.key]}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

/** Every service's health, the broker's queues and the saga outcomes over time, from the operations overview. */
export function SystemPage() {
  const [windowKey, setWindowKey] = useState<WindowKey>('hour');
  const [overview, setOverview] = useState<SystemOverview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const chartWindow = WINDOWS[windowKey];

  usePolling(
    async () => {
      try {
        setOverview(await api<SystemOverview>('GET', overviewPath(chartWindow)));
        setError(null);
      } catch (err) {
        setError(messageOf(err));
      }
    },
    REFRESH_MS,
    [windowKey],
  );

  return (
    <section>
      <h1>System</h1>
      {error && <p role="alert">{error}</p>}
      {overview === null ? (
        !error && <p aria-busy="true">Loading…</p>
      ) : (
        <>
          <p class="muted">
            As of <time dateTime={overview.generatedAt}>{new Date(overview.generatedAt).toLocaleTimeString()}</time>, refreshed every{' '}
            {REFRESH_MS / 1000} s.
          </p>
          <ServicesTable overview={overview} />
          <QueuesTable overview={overview} />
          <h2 id="outcomes-heading">Saga outcomes</h2>
          <form class="filters" onSubmit={(event) => event.preventDefault()} aria-labelledby="outcomes-heading">
            <label>
              Window
              <select name="window" value={windowKey} onChange={(event) => setWindowKey((event.target as HTMLSelectElement).value as WindowKey)}>
                {Object.entries(WINDOWS).map(([key, entry]) => (
                  <option key={key} value={key}>
                    {entry.label}
                  </option>
                ))}
              </select>
            </label>
          </form>
          <OutcomeChart buckets={overview.sagaOutcomes.buckets} chartWindow={chartWindow} />
          <OutcomeTable buckets={overview.sagaOutcomes.buckets} chartWindow={chartWindow} />
        </>
      )}
    </section>
  );
}

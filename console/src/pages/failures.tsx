import { useEffect, useState } from 'preact/hooks';
import type {
  OperatorAction,
  OperatorActionList,
  ParkedActionBody,
  ParkedActionResult,
  ParkedGroup,
  ParkedMessageView,
  ParkedOverview,
  ParkedState,
} from '@onboarding/contracts';
import { api, messageOf } from '../api';

/** What the operator picked: one message, or a group (service, queue, reason). */
type Selection = { kind: 'message'; message: ParkedMessageView } | { kind: 'group'; group: ParkedGroup };

const time = (iso: string | null) => (iso ? <time dateTime={iso}>{new Date(iso).toLocaleString()}</time> : <span class="muted">—</span>);

function bodyOf(selection: Selection, dryRun: boolean): ParkedActionBody {
  return selection.kind === 'message'
    ? { service: selection.message.service, id: selection.message.id, dryRun }
    : { service: selection.group.service, queue: selection.group.queue, reason: selection.group.reason, dryRun };
}

function describe(selection: Selection): string {
  return selection.kind === 'message'
    ? `Message ${selection.message.messageId} (${selection.message.service}, ${selection.message.reason})`
    : `${selection.group.count} message(s) parked for ${selection.group.reason} from ${selection.group.queue} (${selection.group.service})`;
}

function outcomeText(result: ParkedActionResult): string {
  const verb = { replay: 'replayed', archive: 'archived', restore: 'restored' }[result.action];
  const head = result.dryRun ? `Preview: ${result.count} message(s) would be ${verb}` : `${result.count} message(s) ${verb}`;
  const refused = result.refused ? `, ${result.refused} refused` : '';
  const failed = result.failed.length ? `; not reached: ${result.failed.map((entry) => entry.service).join(', ')}` : '';
  return `${head}${refused}${failed}.`;
}

/**
 * Parked messages of every service (through operations), grouped by reason and queue. The operator selects one
 * message or a group, previews a replay (a dry run that only counts), then replays and sees the outcome per
 * message; archive and restore work the same way. Every action is recorded by operations and listed below.
 */
export function FailuresPage() {
  const [state, setState] = useState<ParkedState>('open');
  const [overview, setOverview] = useState<ParkedOverview | null>(null);
  const [actions, setActions] = useState<OperatorAction[]>([]);
  const [selection, setSelection] = useState<Selection | null>(null);
  const [preview, setPreview] = useState<ParkedActionResult | null>(null);
  const [outcome, setOutcome] = useState<ParkedActionResult | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = async (which: ParkedState = state) => {
    try {
      const [parked, recent] = await Promise.all([
        api<ParkedOverview>('GET', `/v1/operations/parked?state=${which}`),
        api<OperatorActionList>('GET', '/v1/operations/actions?limit=20'),
      ]);
      setOverview(parked);
      setActions(recent.items);
      setError(null);
    } catch (err) {
      setError(messageOf(err));
    }
  };
  useEffect(() => void load(state), [state]);

  const select = (next: Selection) => {
    setSelection(next);
    setPreview(null);
    setOutcome(null);
  };

  const act = async (action: 'replay' | 'archive' | 'restore', dryRun: boolean) => {
    if (!selection) return;
    setBusy(true);
    try {
      const result = await api<ParkedActionResult>('POST', `/v1/operations/parked/${action}`, bodyOf(selection, dryRun));
      if (dryRun) setPreview(result);
      else {
        setOutcome(result);
        setPreview(null);
        await load();
      }
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>Failures</h1>
      <p>Messages a service could not process, parked in its own table until an operator replays or archives them.</p>
      <div class="filters">
        <label>
          State
          <select value={state} onChange={(event) => setState((event.target as HTMLSelectElement).value as ParkedState)}>
            <option value="open">Open</option>
            <option value="replayed">Replayed</option>
            <option value="archived">Archived</option>
          </select>
        </label>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {error && <p role="alert">{error}</p>}
      {overview?.unreachable.length ? <p role="alert">Not reachable, so not listed: {overview.unreachable.join(', ')}</p> : null}

      <section aria-labelledby="selected-heading" class="card">
        <h2 id="selected-heading">Selected</h2>
        {selection ? (
          <>
            <p>{describe(selection)}</p>
            <div class="actions">
              {state === 'open' && (
                <>
                  <button type="button" disabled={busy} onClick={() => void act('replay', true)}>
                    Preview replay
                  </button>
                  <button
                    type="button"
                    disabled={busy || !preview || preview.action !== 'replay' || preview.count === 0}
                    onClick={() => void act('replay', false)}
                  >
                    Replay
                  </button>
                  <button type="button" disabled={busy} onClick={() => void act('archive', false)}>
                    Archive
                  </button>
                </>
              )}
              {state === 'archived' && (
                <button type="button" disabled={busy} onClick={() => void act('restore', false)}>
                  Restore
                </button>
              )}
            </div>
          </>
        ) : (
          <p>Select a group or a message below.</p>
        )}
        <div role="status" aria-live="polite" class="outcome">
          {preview && <p>{outcomeText(preview)}</p>}
          {outcome && (
            <>
              <p>{outcomeText(outcome)}</p>
              <ul>
                {outcome.results.map((result) => (
                  <li key={`${result.service}/${result.id}`}>
                    {result.service} {result.messageId}: {result.outcome}
                    {result.why ? ` (${result.why})` : ''}
                  </li>
                ))}
                {outcome.failed.map((entry) => (
                  <li key={`failed-${entry.service}`}>
                    {entry.service}: {entry.error}
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      </section>

      {overview === null ? (
        <p aria-busy="true">Loading…</p>
      ) : overview.total === 0 && overview.messages.length === 0 ? (
        <p>No {state} parked messages.</p>
      ) : (
        <>
          <table>
            <caption>Groups by reason and queue</caption>
            <thead>
              <tr>
                <th scope="col">Reason</th>
                <th scope="col">Queue</th>
                <th scope="col">Service</th>
                <th scope="col">Messages</th>
                <th scope="col">
                  <span class="visually-hidden">Select</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {overview.groups.map((group) => (
                <tr key={`${group.service}/${group.queue}/${group.reason}`} data-group={group.reason}>
                  <td>{group.reason}</td>
                  <td>{group.queue}</td>
                  <td>{group.service}</td>
                  <td>{group.count}</td>
                  <td>
                    <button
                      type="button"
                      aria-label={`Select group ${group.reason} from ${group.queue} (${group.service})`}
                      onClick={() => select({ kind: 'group', group })}
                    >
                      Select
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {/* Ten columns: on a narrow window the table scrolls sideways instead of squeezing the error text. */}
          <div class="table-scroll">
            <table class="messages">
              <caption>
                Parked messages, newest first
                {overview.total > overview.messages.length &&
                  ` (the newest ${overview.messages.length} of ${overview.total}: select a group to act on all of its messages)`}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Reason</th>
                  <th scope="col">Message</th>
                  <th scope="col">Error</th>
                  <th scope="col">Service and queue</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">First received</th>
                  <th scope="col">Parked</th>
                  <th scope="col">State</th>
                  <th scope="col">Last action</th>
                  <th scope="col">
                    <span class="visually-hidden">Select</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {overview.messages.map((message) => (
                  <tr key={`${message.service}/${message.id}`} data-message-id={message.messageId}>
                    <td>{message.reason}</td>
                    <td>
                      {message.routingKey}
                      <br />
                      {/* The id as logs and traces know it; shortened, whole in the tooltip. */}
                      <span class="muted" title={message.messageId}>
                        {message.messageId.slice(0, 8)}…
                      </span>
                    </td>
                    <td class="error-text">{message.error}</td>
                    <td>
                      {message.service}
                      <br />
                      <span class="muted">{message.sourceQueue}</span>
                    </td>
                    <td>{message.attempts}</td>
                    <td>{time(message.firstReceivedAt)}</td>
                    <td>{time(message.parkedAt)}</td>
                    <td>{message.state}</td>
                    <td>{message.lastAction ? `${message.lastAction.outcome} by ${message.lastAction.by}` : <span class="muted">—</span>}</td>
                    <td>
                      <button
                        type="button"
                        aria-label={`Select message ${message.messageId} of ${message.service}`}
                        onClick={() => select({ kind: 'message', message })}
                      >
                        Select
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}

      <h2>Recent operator actions</h2>
      {actions.length === 0 ? (
        <p>No operator actions yet.</p>
      ) : (
        <ul class="operator-actions" aria-label="Recent operator actions">
          {actions.map((action) => (
            <li key={action.id}>
              {time(action.at)} {action.by}: {action.dryRun ? 'previewed ' : ''}
              {action.action} of{' '}
              {action.filter.id
                ? `message ${action.filter.id} (${action.filter.service ?? ''})`
                : [action.filter.service, action.filter.queue, action.filter.reason].filter(Boolean).join(' / ') || 'everything'}{' '}
              → {action.count}
              {action.refused ? `, ${action.refused} refused` : ''}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

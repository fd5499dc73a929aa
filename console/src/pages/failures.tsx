import { useEffect, useRef, useState } from 'preact/hooks';
import type {
  OperatorAction,
  OperatorActionList,
  ParkedActionBody,
  ParkedActionResult,
  ParkedGroup,
  ParkedMessageView,
  ParkedOverview,
  ParkedPage,
  ParkedState,
} from '@onboarding/contracts';
import { api, messageOf } from '../api';
import { BASE, linkHandler } from '../router';

/** What the operator picked: one message, or a group (service, queue, reason). */
type Selection = { kind: 'message'; message: ParkedMessageView } | { kind: 'group'; group: ParkedGroup };

/** A group's own messages as listed so far, and where its next page starts. */
interface GroupListing {
  group: ParkedGroup;
  items: ParkedMessageView[];
  nextBefore: string | null;
}

/** A subject that names a driver (what a link to its page needs); anything else is shown as no link. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Messages of a listed group read per page. */
const GROUP_PAGE_SIZE = 50;

const sameGroup = (a: ParkedGroup, b: ParkedGroup) => a.service === b.service && a.queue === b.queue && a.reason === b.reason;

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

/** Parked messages, one row each, with a button to select one. Ten columns: on a narrow window the table scrolls sideways. */
function MessagesTable({
  caption,
  messages,
  onSelect,
}: {
  caption: string;
  messages: readonly ParkedMessageView[];
  onSelect: (message: ParkedMessageView) => void;
}) {
  return (
    <div class="table-scroll">
      <table class="messages">
        <caption>{caption}</caption>
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
          {messages.map((message) => (
            <tr key={`${message.service}/${message.id}`} data-message-id={message.messageId}>
              <td>{message.reason}</td>
              <td>
                {message.routingKey}
                <br />
                {/* The id as logs and traces know it; shortened, whole in the tooltip. */}
                <span class="muted" title={message.messageId}>
                  {message.messageId.slice(0, 8)}…
                </span>
                {message.subject && UUID.test(message.subject) && (
                  <>
                    <br />
                    {/* The registration it is about: its timeline says what is missing because of it. */}
                    <a href={`${BASE}/drivers/${message.subject}`} onClick={linkHandler(`/drivers/${message.subject}`)}>
                      its registration
                    </a>
                  </>
                )}
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
                <button type="button" aria-label={`Select message ${message.messageId} of ${message.service}`} onClick={() => onSelect(message)}>
                  Select
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
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
  // The group whose own messages are listed, page by page (the overview lists only each service's newest).
  const [group, setGroup] = useState<GroupListing | null>(null);
  // Answers can come back out of order (an action's reload, then a state change's): only the latest request of each
  // kind may change the page, or a slow, older answer would put back what the operator has moved on from.
  const loads = useRef(0);
  const groupReads = useRef(0);
  // The group the operator chose to list (set by the click, before its first page arrives): what a reload lists again.
  const wantedGroup = useRef<ParkedGroup | null>(null);
  const forgetGroup = () => {
    wantedGroup.current = null;
    ++groupReads.current; // a page still on its way is for a listing that is gone
    setGroup(null);
  };

  const pageOf = (of: ParkedGroup, which: ParkedState, before?: string) => {
    const query = new URLSearchParams({ service: of.service, queue: of.queue, reason: of.reason, state: which, limit: String(GROUP_PAGE_SIZE) });
    if (before) query.set('before', before);
    return api<ParkedPage>('GET', `/v1/operations/parked/messages?${query.toString()}`);
  };
  const listGroup = async (of: ParkedGroup, which: ParkedState = state) => {
    wantedGroup.current = of;
    const ticket = ++groupReads.current;
    const page = await pageOf(of, which);
    if (ticket === groupReads.current) setGroup({ group: of, items: page.items, nextBefore: page.nextBefore });
  };
  // Called from the listing's own button, so `group` is the listing on screen.
  const olderOfGroup = async () => {
    const listing = group;
    if (!listing?.nextBefore) return;
    const ticket = ++groupReads.current;
    try {
      const page = await pageOf(listing.group, state, listing.nextBefore);
      if (ticket === groupReads.current) setGroup({ ...listing, items: [...listing.items, ...page.items], nextBefore: page.nextBefore });
    } catch (err) {
      setError(messageOf(err));
    }
  };

  const load = async (which: ParkedState = state) => {
    const ticket = ++loads.current;
    try {
      const [parked, recent] = await Promise.all([
        api<ParkedOverview>('GET', `/v1/operations/parked?state=${which}`),
        api<OperatorActionList>('GET', '/v1/operations/actions?limit=20'),
      ]);
      if (ticket !== loads.current) return;
      setOverview(parked);
      setActions(recent.items);
      // The chosen group is read again from its first page, its count from the new overview; gone once empty. Asked
      // of the choice, not of what is shown: the operator may have chosen a group whose first page is still on its way.
      const wanted = wantedGroup.current;
      const listed = wanted && parked.groups.find((entry) => sameGroup(entry, wanted));
      if (listed) await listGroup(listed, which);
      else if (wanted) forgetGroup();
      setError(null);
    } catch (err) {
      if (ticket === loads.current) setError(messageOf(err));
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
              {overview.groups.map((entry) => (
                <tr key={`${entry.service}/${entry.queue}/${entry.reason}`} data-group={entry.reason}>
                  <td>{entry.reason}</td>
                  <td>{entry.queue}</td>
                  <td>{entry.service}</td>
                  <td>{entry.count}</td>
                  <td>
                    <button
                      type="button"
                      aria-label={`Select group ${entry.reason} from ${entry.queue} (${entry.service})`}
                      onClick={() => {
                        select({ kind: 'group', group: entry });
                        void listGroup(entry).catch((err: unknown) => setError(messageOf(err)));
                      }}
                    >
                      Select
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {group ? (
            <>
              <MessagesTable
                caption={`Parked messages of ${group.group.reason} from ${group.group.queue} (${group.group.service}), newest first: ${group.items.length} of ${group.group.count}`}
                messages={group.items}
                onSelect={(message) => select({ kind: 'message', message })}
              />
              <div class="actions">
                {group.nextBefore && (
                  <button type="button" disabled={busy} onClick={() => void olderOfGroup()}>
                    Older messages
                  </button>
                )}
                <button type="button" onClick={forgetGroup}>
                  Newest of every service
                </button>
              </div>
            </>
          ) : (
            <MessagesTable
              caption={`Parked messages, newest first${
                overview.total > overview.messages.length
                  ? ` (the newest ${overview.messages.length} of ${overview.total}: select a group to page through all of its messages)`
                  : ''
              }`}
              messages={overview.messages}
              onSelect={(message) => select({ kind: 'message', message })}
            />
          )}
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

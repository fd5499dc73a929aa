import { useRef, useState } from 'preact/hooks';
import type { DriverHistory, DriverView, RegistrationTimeline, UpdateDriverBody } from '@onboarding/contracts';
import { ApiProblem, api, isAdmin, messageOf, type SessionView } from '../api';
import { usePolling } from '../live';
import { BASE, linkHandler, navigate } from '../router';
import { StatusBadge } from './status-badge';
import { SagaTimeline, Timeline, historySteps } from './timeline';
import { DriverFields } from './driver-fields';

const LIVE_INTERVAL_MS = 2_000;

type Editable = Required<Omit<UpdateDriverBody, 'version'>>;
const editable = (driver: DriverView): Editable => ({
  firstName: driver.firstName,
  lastName: driver.lastName,
  email: driver.email,
  phone: driver.phone,
  preferredLanguage: driver.preferredLanguage,
});

/**
 * Editing sends the version the form was opened at. When someone else changed the driver meanwhile the API answers
 * 409 stale-version: the form keeps what was typed and says so, and nothing is overwritten until the user has seen
 * the newer data and saves again.
 */
function EditForm({ driver, onSaved }: { driver: DriverView; onSaved: (driver: DriverView) => void }) {
  const [base, setBase] = useState(driver);
  const [form, setForm] = useState<Editable>(editable(driver));
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const [conflict, setConflict] = useState(false);
  const field = (name: keyof Editable) => (event: Event) => setForm({ ...form, [name]: (event.target as HTMLInputElement).value });

  const save = async (event: Event) => {
    event.preventDefault();
    const changes = Object.fromEntries(Object.entries(form).filter(([name, value]) => base[name as keyof Editable] !== value));
    if (Object.keys(changes).length === 0) return setMessage({ text: 'Nothing changed.', error: false });
    try {
      const saved = await api<DriverView>('PATCH', `/v1/drivers/${driver.id}`, { version: base.version, ...changes });
      setBase(saved);
      setConflict(false);
      setMessage({ text: `Saved (version ${saved.version}).`, error: false });
      onSaved(saved);
    } catch (err) {
      if (err instanceof ApiProblem && err.code === 'stale-version') {
        setConflict(true);
        setMessage({ text: 'Conflict: someone else changed this driver since you opened it. Your changes were not saved.', error: true });
      } else {
        setMessage({ text: messageOf(err), error: true });
      }
    }
  };
  const takeLatest = async () => {
    // The newest version becomes the base, and only what the user changed is laid over it: the other person's
    // changes stay, the user's own are kept to be saved over them knowingly.
    try {
      const latest = await api<DriverView>('GET', `/v1/drivers/${driver.id}`);
      const ownEdits = Object.fromEntries(Object.entries(form).filter(([name, value]) => base[name as keyof Editable] !== value));
      setBase(latest);
      setForm({ ...editable(latest), ...ownEdits });
      setConflict(false);
      setMessage({ text: `Now editing version ${latest.version} with your changes; check and save again.`, error: false });
      onSaved(latest);
    } catch (err) {
      setMessage({ text: messageOf(err), error: true });
    }
  };

  return (
    <form class="card" onSubmit={(event) => void save(event)} aria-labelledby="edit-heading">
      <h2 id="edit-heading">Edit</h2>
      <DriverFields values={form} field={field} />
      <button type="submit">Save</button>
      {conflict && (
        <button type="button" onClick={() => void takeLatest()}>
          Use the latest version
        </button>
      )}
      {message && (
        <p role={message.error ? 'alert' : 'status'} class={message.error ? 'error' : 'ok'}>
          {message.text}
        </p>
      )}
    </form>
  );
}

/** After the timeline last changed (or the driver did), it is read again for this long: compensations and late steps follow. */
const SETTLE_MS = 30_000;

/**
 * The saga timeline from the operations service, for admins only: a dispatcher never calls it (the API would answer
 * 403, and every refused fetch is an error in the browser's console). It is read with the page's poll while the saga
 * runs, and for SETTLE_MS after anything changed; a complete, quiet timeline is not read again.
 */
function useSagaTimeline(id: string, admin: boolean) {
  const [timeline, setTimeline] = useState<RegistrationTimeline | null>(null);
  const [unseen, setUnseen] = useState(false);
  const state = useRef({ steps: -1, changedAt: Date.now(), driverKey: '' });

  const refresh = async (driver: DriverView) => {
    if (!admin) return;
    const tracked = state.current;
    const driverKey = `${driver.status}:${driver.version}`;
    if (driverKey !== tracked.driverKey) {
      tracked.driverKey = driverKey;
      tracked.changedAt = Date.now();
    }
    if (timeline?.complete && Date.now() - tracked.changedAt > SETTLE_MS) return;
    try {
      const loaded = await api<RegistrationTimeline>('GET', `/v1/operations/registrations/${id}/timeline`);
      if (loaded.steps.length !== tracked.steps) {
        tracked.steps = loaded.steps.length;
        tracked.changedAt = Date.now();
      }
      setTimeline(loaded);
      setUnseen(false);
    } catch (err) {
      // 404: operations has not received the registration's first event yet (its audit copy is asynchronous).
      if (err instanceof ApiProblem && err.status === 404) setUnseen(true);
      else throw err;
    }
  };
  return { timeline, unseen, refresh };
}

export function DriverPage({ id, session }: { id: string; session: SessionView }) {
  const [driver, setDriver] = useState<DriverView | null>(null);
  const [history, setHistory] = useState<DriverHistory | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const admin = isAdmin(session);
  const saga = useSagaTimeline(id, admin);

  usePolling(
    async () => {
      try {
        const [loaded, steps] = await Promise.all([
          api<DriverView>('GET', `/v1/drivers/${id}`),
          admin ? Promise.resolve(null) : api<DriverHistory>('GET', `/v1/drivers/${id}/events`),
        ]);
        setDriver(loaded);
        if (steps) setHistory(steps);
        await saga.refresh(loaded);
        setError(null);
      } catch (err) {
        setError(messageOf(err));
      }
    },
    LIVE_INTERVAL_MS,
    [id],
  );

  // A save shows at once in the profile; its step follows in the timeline on the next polls.
  const saved = (changed: DriverView) => {
    setDriver(changed);
    if (!admin) api<DriverHistory>('GET', `/v1/drivers/${id}/events`).then(setHistory, (err: unknown) => setError(messageOf(err)));
  };

  const remove = async () => {
    try {
      await api('DELETE', `/v1/drivers/${id}`);
      navigate('/drivers');
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <section>
      <p>
        <a href={`${BASE}/drivers`} onClick={linkHandler('/drivers')}>
          ← All drivers
        </a>
      </p>
      {error && <p role="alert">{error}</p>}
      {!driver ? (
        !error && <p aria-busy="true">Loading…</p>
      ) : (
        <>
          <h1>
            {driver.firstName} {driver.lastName}
          </h1>
          <dl class="profile">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={driver.status} />
              {driver.failureReason && <span> ({driver.failureReason})</span>}
            </dd>
            <dt>Email</dt>
            <dd>{driver.email}</dd>
            <dt>Phone</dt>
            <dd>{driver.phone}</dd>
            <dt>Language</dt>
            <dd>{driver.preferredLanguage}</dd>
            <dt>B2C object id</dt>
            <dd>{driver.b2cObjectId ?? '—'}</dd>
            <dt>Version</dt>
            <dd>{driver.version}</dd>
            <dt>Registered</dt>
            <dd>{new Date(driver.createdAt).toLocaleString()}</dd>
          </dl>
          <h2>Timeline</h2>
          {admin ? (
            saga.timeline ? (
              <SagaTimeline timeline={saga.timeline} />
            ) : (
              saga.unseen && <p role="status">The operations service has not seen this registration yet.</p>
            )
          ) : (
            history && <Timeline steps={historySteps(history)} />
          )}
          {driver.status === 'ACTIVE' && <EditForm key={driver.id} driver={driver} onSaved={saved} />}
          {driver.status !== 'DELETED' && (
            <div class="card">
              <h2>Delete</h2>
              {!confirmDelete ? (
                <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>
                  Delete driver
                </button>
              ) : (
                <p>
                  Delete {driver.firstName} {driver.lastName} and their directory account?{' '}
                  <button type="button" class="danger" onClick={() => void remove()}>
                    Yes, delete
                  </button>{' '}
                  <button type="button" onClick={() => setConfirmDelete(false)}>
                    Cancel
                  </button>
                </p>
              )}
            </div>
          )}
          <p class="muted">Signed in as {session.subject}.</p>
        </>
      )}
    </section>
  );
}

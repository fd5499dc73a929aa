import { useState } from 'preact/hooks';
import type { DriverPage, DriverView, RegisterDriverBody } from '@onboarding/contracts';
import { api, messageOf } from '../api';
import { usePolling } from '../live';
import { BASE, linkHandler } from '../router';
import { DriverFields } from './driver-fields';
import { StatusBadge } from './status-badge';

export const STATUSES: readonly DriverView['status'][] = ['PENDING', 'ACTIVE', 'FAILED', 'DELETED'];
const LIVE_INTERVAL_MS = 2_000;
const PAGE_SIZE = 100;

function query(status: string, q: string, cursor?: string): string {
  // Newest first: the first page, read again every LIVE_INTERVAL_MS, is where a new driver appears, however many there are.
  const params = new URLSearchParams({ limit: String(PAGE_SIZE), order: 'newest' });
  if (status) params.set('status', status);
  if (q.trim()) params.set('q', q.trim());
  if (cursor) params.set('cursor', cursor);
  return `/v1/drivers?${params.toString()}`;
}

const EMPTY: RegisterDriverBody = { firstName: '', lastName: '', email: '', phone: '', preferredLanguage: 'en' };

function RegisterForm() {
  const [form, setForm] = useState<RegisterDriverBody>(EMPTY);
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const field = (name: keyof RegisterDriverBody) => (event: Event) => setForm({ ...form, [name]: (event.target as HTMLInputElement).value });
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const driver = await api<DriverView>('POST', '/v1/drivers', form);
      setMessage({ text: `Registered ${driver.firstName} ${driver.lastName}: ${driver.status}`, error: false });
      setForm(EMPTY);
    } catch (err) {
      setMessage({ text: messageOf(err), error: true });
    }
  };
  return (
    <form class="card" onSubmit={(event) => void submit(event)} aria-labelledby="register-heading">
      <h2 id="register-heading">Register a driver</h2>
      <DriverFields values={form} field={field} />
      <button type="submit">Register</button>
      {message && (
        <p role={message.error ? 'alert' : 'status'} class={message.error ? 'error' : 'ok'}>
          {message.text}
        </p>
      )}
    </form>
  );
}

export function DriversPage() {
  const [status, setStatus] = useState('');
  const [search, setSearch] = useState('');
  const [drivers, setDrivers] = useState<DriverView[] | null>(null);
  const [more, setMore] = useState<{ items: DriverView[]; cursor: string | null }>({ items: [], cursor: null });
  const [error, setError] = useState<string | null>(null);

  // The first page is read again every LIVE_INTERVAL_MS, so new drivers and status changes appear without a reload.
  usePolling(
    async () => {
      try {
        const page = await api<DriverPage>('GET', query(status, search));
        setDrivers(page.items);
        setMore((current) => (current.items.length ? current : { items: [], cursor: page.nextCursor }));
        setError(null);
      } catch (err) {
        setError(messageOf(err));
      }
    },
    LIVE_INTERVAL_MS,
    [status, search],
  );

  const loadMore = async () => {
    if (!more.cursor) return;
    const page = await api<DriverPage>('GET', query(status, search, more.cursor));
    setMore({ items: [...more.items, ...page.items], cursor: page.nextCursor });
  };
  const filterChanged = () => setMore({ items: [], cursor: null });
  // New drivers push the first page's last ones past it, into what "Load more" already fetched: shown once.
  const onFirstPage = new Set((drivers ?? []).map((driver) => driver.id));
  const shown = [...(drivers ?? []), ...more.items.filter((driver) => !onFirstPage.has(driver.id))];

  return (
    <section>
      <h1>Drivers</h1>
      <form class="filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <label>
          Status
          <select
            name="status"
            value={status}
            onChange={(event) => {
              filterChanged();
              setStatus((event.target as HTMLSelectElement).value);
            }}
          >
            <option value="">All</option>
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </label>
        <label>
          Search by name or email
          <input
            name="q"
            type="search"
            maxLength={100}
            value={search}
            onInput={(event) => {
              filterChanged();
              setSearch((event.target as HTMLInputElement).value);
            }}
          />
        </label>
      </form>
      {error && <p role="alert">{error}</p>}
      {drivers === null ? (
        <p aria-busy="true">Loading…</p>
      ) : shown.length === 0 ? (
        <p>No drivers match.</p>
      ) : (
        <table>
          <caption>Drivers, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Status</th>
              <th scope="col">Registered</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((driver) => (
              <tr key={driver.id} data-driver-id={driver.id}>
                <td>
                  <a href={`${BASE}/drivers/${driver.id}`} onClick={linkHandler(`/drivers/${driver.id}`)}>
                    {driver.firstName} {driver.lastName}
                  </a>
                </td>
                <td>{driver.email}</td>
                <td>
                  <StatusBadge status={driver.status} />
                </td>
                <td>{new Date(driver.createdAt).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {more.cursor && (
        <button type="button" onClick={() => void loadMore()}>
          Load more
        </button>
      )}
      <RegisterForm />
    </section>
  );
}

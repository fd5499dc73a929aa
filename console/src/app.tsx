import { useEffect, useState } from 'preact/hooks';
import { api, isAdmin, messageOf, type SessionState, type SessionView } from './api';
import { BASE, linkHandler, navigate, usePath } from './router';
import { DriversPage } from './pages/drivers';
import { DriverPage } from './pages/driver';
import { NotificationsPage } from './pages/notifications';
import { FailuresPage } from './pages/failures';
import { SystemPage } from './pages/system';
import { SignInPage } from './pages/sign-in';

interface NavItem {
  path: string;
  label: string;
  adminOnly: boolean;
}

/** Failures comes with the parked-message view; its link is here already so the layout is final. */
const NAV: readonly NavItem[] = [
  { path: '/drivers', label: 'Drivers', adminOnly: false },
  { path: '/notifications', label: 'Notifications', adminOnly: true },
  { path: '/failures', label: 'Failures', adminOnly: true },
  { path: '/system', label: 'System', adminOnly: true },
];

function Page({ path, session }: { path: string; session: SessionView }) {
  const driver = /^\/drivers\/([0-9a-f-]{36})$/.exec(path);
  if (driver?.[1]) return <DriverPage key={driver[1]} id={driver[1]} session={session} />;
  if (path === '/drivers') return <DriversPage />;
  if (!isAdmin(session)) return <p role="alert">This page is for admins.</p>;
  if (path === '/notifications') return <NotificationsPage />;
  if (path === '/failures') return <FailuresPage />;
  if (path === '/system') return <SystemPage />;
  return <p role="alert">No such page.</p>;
}

export function App() {
  const path = usePath();
  const [state, setState] = useState<SessionState | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = () =>
    api<SessionState>('GET', '/admin/auth/session').then(
      (loaded) => {
        setState(loaded);
        setError(null);
      },
      (err: unknown) => setError(messageOf(err)),
    );
  useEffect(() => void load(), []);
  useEffect(() => {
    if (state?.session && (path === '/' || path === '/sign-in')) navigate('/drivers');
  }, [state, path]);

  if (error)
    return (
      <main>
        <p role="alert">The console could not reach the gateway: {error}</p>
      </main>
    );
  if (!state)
    return (
      <main aria-busy="true">
        <p>Loading…</p>
      </main>
    );
  if (!state.session) return <SignInPage state={state} onSignedIn={() => void load()} />;
  const session = state.session;

  const signOut = async () => {
    await api('POST', '/admin/auth/sign-out');
    history.replaceState(null, '', `${BASE}/`);
    await load();
  };

  return (
    <>
      <header class="top">
        <span class="brand">Driver onboarding</span>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((item) => !item.adminOnly || isAdmin(session)).map((item) => (
              <li key={item.path}>
                <a
                  href={`${BASE}${item.path}`}
                  onClick={linkHandler(item.path)}
                  aria-current={path === item.path || path.startsWith(`${item.path}/`) ? 'page' : undefined}
                >
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {session.subject} ({session.roles.join(', ')})
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </span>
      </header>
      <main>
        <Page path={path} session={session} />
      </main>
    </>
  );
}

import { useState } from 'preact/hooks';
import type { ApiRole } from '@onboarding/contracts';
import { api, messageOf, type SessionState } from '../api';

/**
 * Signing in: through the identity provider when one is configured (a plain link: the gateway redirects to it),
 * and outside production with the development buttons, which sign in as a role without a password.
 */
export function SignInPage({ state, onSignedIn }: { state: SessionState; onSignedIn: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const devSignIn = async (role: ApiRole) => {
    try {
      await api('POST', '/admin/auth/dev-sign-in', { role });
      onSignedIn();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <main class="sign-in">
      <h1>Driver onboarding console</h1>
      {state.oidcSignIn && (
        <p>
          <a class="button" href="/admin/auth/login">
            Sign in with your organisation account
          </a>
        </p>
      )}
      {state.devSignIn && (
        <section aria-labelledby="dev-sign-in">
          <h2 id="dev-sign-in">Development sign-in</h2>
          <p>Only outside production: signs in as a role, without a password.</p>
          <p class="actions">
            <button type="button" onClick={() => void devSignIn('admin')}>
              Sign in as admin
            </button>
            <button type="button" onClick={() => void devSignIn('dispatcher')}>
              Sign in as dispatcher
            </button>
          </p>
        </section>
      )}
      {!state.oidcSignIn && !state.devSignIn && <p role="alert">No sign-in is configured for this gateway.</p>}
      {error && <p role="alert">{error}</p>}
    </main>
  );
}

import type { ReadinessCheck } from '@onboarding/service-kit';

/** An upstream is ready when its own `/readyz` answers 200 (its database and broker are connected). */
export function upstreamReady(baseUrl: string): ReadinessCheck {
  return async () => {
    const response = await fetch(new URL('/readyz', baseUrl), { signal: AbortSignal.timeout(1_500) });
    await response.body?.cancel();
    return response.ok;
  };
}

import { useEffect, useRef } from 'preact/hooks';

/**
 * Runs `load` now and then every `intervalMs` while the page is open (and again when `deps` change), never two at
 * once. This is how the driver list and a driver's page stay live: see README "Admin console" for why polling.
 */
export function usePolling(load: () => Promise<void>, intervalMs: number, deps: readonly unknown[]): void {
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        await latest.current();
      } finally {
        if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
      }
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, deps);
}

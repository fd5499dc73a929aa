import { useEffect, useState } from 'preact/hooks';

/**
 * The console's few routes need no router library: the path under /admin/ is the state, links push it onto the
 * history, and the gateway answers index.html for every /admin/ path so a reload lands on the same page.
 */
export const BASE = '/admin';

export function navigate(path: string): void {
  history.pushState(null, '', `${BASE}${path}`);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function usePath(): string {
  const read = () => location.pathname.slice(BASE.length) || '/';
  const [path, setPath] = useState(read);
  useEffect(() => {
    const update = () => setPath(read());
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return path;
}

/** An in-app link: a real anchor (keyboard, middle click, screen readers) that navigates without a reload. */
export function linkHandler(path: string) {
  return (event: MouseEvent) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(path);
  };
}

import { useEffect, useState } from 'preact/hooks';
import type { NotificationPage, NotificationView } from '@onboarding/contracts';
import { api, messageOf } from '../api';

/**
 * Admin notifications, newest first. New ones arrive over the notification service's resumable stream
 * (EventSource reconnects by itself and resumes with Last-Event-ID, so none is lost while it was away); the page
 * merges them by id, so one seen twice (the list and the stream overlap) shows once.
 */
export function NotificationsPage() {
  const [items, setItems] = useState<NotificationView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState(false);

  const merge = (incoming: readonly NotificationView[]) =>
    setItems((current) => {
      const byId = new Map((current ?? []).map((item) => [item.id, item]));
      for (const item of incoming) byId.set(item.id, item);
      return [...byId.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    });

  useEffect(() => {
    api<NotificationPage>('GET', '/v1/notifications?limit=100').then(
      (page) => merge(page.items),
      (err: unknown) => setError(messageOf(err)),
    );
    const stream = new EventSource('/v1/notifications/stream');
    stream.onopen = () => setLive(true);
    stream.onerror = () => setLive(false);
    stream.addEventListener('notification', (event: MessageEvent<string>) => merge([JSON.parse(event.data) as NotificationView]));
    return () => stream.close();
  }, []);

  const markRead = async (id: string) => {
    try {
      merge([await api<NotificationView>('POST', `/v1/notifications/${id}/read`)]);
    } catch (err) {
      setError(messageOf(err));
    }
  };

  const unread = items?.filter((item) => !item.readAt).length ?? 0;
  return (
    <section>
      <h1>Notifications</h1>
      <p>
        <span class="unread" aria-live="polite">
          {unread} unread
        </span>{' '}
        <span class="muted">{live ? '· live' : '· connecting…'}</span>
      </p>
      {error && <p role="alert">{error}</p>}
      {items === null ? (
        <p aria-busy="true">Loading…</p>
      ) : items.length === 0 ? (
        <p>No notifications yet.</p>
      ) : (
        <ul class="notifications">
          {items.map((item) => (
            <li key={item.id} class={item.readAt ? 'read' : 'unread-item'} data-notification-id={item.id}>
              <div>
                <strong>{item.type}</strong> <time dateTime={item.createdAt}>{new Date(item.createdAt).toLocaleString()}</time>
              </div>
              <div>{item.message}</div>
              {item.readAt ? (
                <span class="muted">Read</span>
              ) : (
                <button type="button" onClick={() => void markRead(item.id)}>
                  Mark read
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

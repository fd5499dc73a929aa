import type { DriverView } from '@onboarding/contracts';

/** A driver's status as text (never by colour alone), styled per status. */
export function StatusBadge({ status }: { status: DriverView['status'] }) {
  return <span class={`status status-${status.toLowerCase()}`}>{status}</span>;
}

import type { DriverActivatedV1 } from '@onboarding/contracts';

export const WELCOME_TEMPLATE = 'welcome';

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);

export function renderWelcomeMail(driver: DriverActivatedV1): RenderedMail {
  const subject = `Welcome to the fleet, ${driver.firstName}!`;
  const text = [
    `Hello ${driver.firstName} ${driver.lastName},`,
    '',
    'Your driver account is ready. Sign in with this email address to see your schedule and vehicles.',
    '',
    'Drive safely,',
    'Fleet Onboarding',
  ].join('\n');
  const html = `<p>Hello ${escapeHtml(driver.firstName)} ${escapeHtml(driver.lastName)},</p>
<p>Your driver account is ready. Sign in with this email address to see your schedule and vehicles.</p>
<p>Drive safely,<br>Fleet Onboarding</p>`;
  return { subject, text, html };
}

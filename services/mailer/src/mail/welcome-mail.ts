import type { DriverActivatedV1, Language } from '@onboarding/contracts';

export const WELCOME_TEMPLATE = 'welcome';

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

interface WelcomeText {
  subject: (firstName: string) => string;
  greeting: (fullName: string) => string;
  body: string;
  closing: string;
}

const WELCOME: Record<Language, WelcomeText> = {
  en: {
    subject: (name) => `Welcome to the fleet, ${name}!`,
    greeting: (name) => `Hello ${name},`,
    body: 'Your driver account is ready. Sign in with this email address to see your schedule and vehicles.',
    closing: 'Drive safely,',
  },
  de: {
    subject: (name) => `Willkommen in der Flotte, ${name}!`,
    greeting: (name) => `Hallo ${name},`,
    body: 'Ihr Fahrerkonto ist bereit. Melden Sie sich mit dieser E-Mail-Adresse an, um Ihren Plan und Ihre Fahrzeuge zu sehen.',
    closing: 'Gute Fahrt,',
  },
  fr: {
    subject: (name) => `Bienvenue dans la flotte, ${name} !`,
    greeting: (name) => `Bonjour ${name},`,
    body: 'Votre compte chauffeur est prêt. Connectez-vous avec cette adresse e-mail pour voir votre planning et vos véhicules.',
    closing: 'Bonne route,',
  },
  es: {
    subject: (name) => `¡Bienvenido a la flota, ${name}!`,
    greeting: (name) => `Hola ${name}:`,
    body: 'Tu cuenta de conductor está lista. Inicia sesión con esta dirección de correo para ver tu horario y tus vehículos.',
    closing: 'Buen viaje,',
  },
};

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);

export function renderWelcomeMail(driver: DriverActivatedV1, language: Language): RenderedMail {
  const words = WELCOME[language];
  const fullName = `${driver.firstName} ${driver.lastName}`;
  const text = [words.greeting(fullName), '', words.body, '', words.closing, 'Fleet Onboarding'].join('\n');
  const html = `<p>${escapeHtml(words.greeting(fullName))}</p>
<p>${escapeHtml(words.body)}</p>
<p>${escapeHtml(words.closing)}<br>Fleet Onboarding</p>`;
  return { subject: words.subject(driver.firstName), text, html };
}

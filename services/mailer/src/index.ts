export { buildMailerApp, type MailerApp, SERVICE_NAME, MAILER_QUEUE } from './app';
export { MailerEnv, loadMailerConfig, type MailerConfig } from './config';

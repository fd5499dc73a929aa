export { mailerService } from './app';
export { MailerEnv, type MailerConfig } from './config';

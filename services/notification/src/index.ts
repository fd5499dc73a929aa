export { notificationService } from './app';
export { NotificationEnv, type NotificationConfig } from './config';

export { buildNotificationApp, type NotificationApp, SERVICE_NAME, NOTIFICATION_QUEUE } from './app';
export { NotificationEnv, loadNotificationConfig, type NotificationConfig } from './config';

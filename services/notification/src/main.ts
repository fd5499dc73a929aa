import { telemetry } from './instrumentation';
import { createLogger, runUntilSignalled } from '@onboarding/service-kit';
import { SERVICE_NAME, buildNotificationApp } from './app';
import { loadNotificationConfig } from './config';

const config = loadNotificationConfig();
const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
void runUntilSignalled(logger, async () => {
  const { host } = await buildNotificationApp(config, logger);
  await host.start({ host: config.HOST, port: config.PORT });
  return {
    stop: async () => {
      await host.stop();
      await telemetry.shutdown();
    },
  };
});

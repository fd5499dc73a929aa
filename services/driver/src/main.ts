import { telemetry } from './instrumentation';
import { createLogger, runUntilSignalled } from '@onboarding/service-kit';
import { SERVICE_NAME, buildDriverApp } from './app';
import { loadDriverConfig } from './config';

const config = loadDriverConfig();
const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
void runUntilSignalled(logger, async () => {
  const { host } = await buildDriverApp(config, logger);
  await host.start({ host: config.HOST, port: config.PORT });
  return {
    stop: async () => {
      await host.stop();
      await telemetry.shutdown();
    },
  };
});

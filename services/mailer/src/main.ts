import { telemetry } from './instrumentation';
import { createLogger, runUntilSignalled } from '@onboarding/service-kit';
import { SERVICE_NAME, buildMailerApp } from './app';
import { loadMailerConfig } from './config';

const config = loadMailerConfig();
const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
void runUntilSignalled(logger, async () => {
  const { host } = await buildMailerApp(config, logger);
  await host.start({ host: config.HOST, port: config.PORT });
  return {
    stop: async () => {
      await host.stop();
      await telemetry.shutdown();
    },
  };
});

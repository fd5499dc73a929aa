import { telemetry } from './instrumentation';
import { createLogger, runUntilSignalled } from '@onboarding/service-kit';
import { SERVICE_NAME, buildIdentityApp } from './app';
import { loadIdentityConfig } from './config';

const config = loadIdentityConfig();
const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
void runUntilSignalled(logger, async () => {
  const { host } = await buildIdentityApp(config, logger);
  await host.start({ host: config.HOST, port: config.PORT });
  return {
    stop: async () => {
      await host.stop();
      await telemetry.shutdown();
    },
  };
});

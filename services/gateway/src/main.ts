import { telemetry } from './instrumentation';
import { createLogger, runUntilSignalled } from '@onboarding/service-kit';
import { SERVICE_NAME, buildGatewayApp } from './app';
import { loadGatewayConfig } from './config';

const config = loadGatewayConfig();
const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
void runUntilSignalled(logger, async () => {
  const gateway = await buildGatewayApp(config, logger);
  const address = await gateway.start();
  logger.info({ address }, 'gateway ready');
  return {
    stop: async () => {
      await gateway.stop();
      await telemetry.shutdown();
    },
  };
});

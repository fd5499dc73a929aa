import { telemetry } from './instrumentation';
import { runService } from '@onboarding/service-kit';
import { gatewayService } from './app';

runService(gatewayService, { telemetry });

import { telemetry } from './instrumentation';
import { runService } from '@onboarding/service-kit';
import { driverService } from './app';

runService(driverService, { telemetry });

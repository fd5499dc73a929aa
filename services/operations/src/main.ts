import { telemetry } from './instrumentation';
import { runService } from '@onboarding/service-kit';
import { operationsService } from './app';

runService(operationsService, { telemetry });

import { telemetry } from './instrumentation';
import { runService } from '@onboarding/service-kit';
import { identityService } from './app';

runService(identityService, { telemetry });

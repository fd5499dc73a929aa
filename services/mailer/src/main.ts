import { telemetry } from './instrumentation';
import { runService } from '@onboarding/service-kit';
import { mailerService } from './app';

runService(mailerService, { telemetry });

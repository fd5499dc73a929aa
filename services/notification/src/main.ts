import { telemetry } from './instrumentation';
import { runService } from '@onboarding/service-kit';
import { notificationService } from './app';

runService(notificationService, { telemetry });

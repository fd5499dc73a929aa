import { startTelemetry } from '@onboarding/telemetry';

/** Imported first by main.ts: instrumentation must patch http, fastify and pg before anything loads them. */
export const telemetry = startTelemetry('operations');

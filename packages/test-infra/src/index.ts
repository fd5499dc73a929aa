export * from './event-probe';
export * from './infrastructure';
export * from './tcp-proxy';
export * from './sql-round-trip-counter';
export * from './wait';
export * from './graph-fake';
export * from './pact';
export * from './otlp-receiver';
export * from './free-port';
export * from './hostile-inputs';
export * from './metrics-scrape';
// The mail catcher is also a development server the launcher runs, so it lives in @onboarding/dev-mail (which
// does not pull this toolbox in); tests keep finding it here with the rest of their tools.
export * from '@onboarding/dev-mail';
export * from './component-fixture';

export * from './event-probe';
export * from './infrastructure';
export * from './tcp-proxy';
export * from './wait';
export * from './graph-fake';
export * from './pact';
export * from './otlp-receiver';

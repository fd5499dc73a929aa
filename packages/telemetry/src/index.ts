export * from './telemetry';
export * from './personal-data-processor';
export * from './sql';

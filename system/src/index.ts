export * from './system';
export * from './platform';

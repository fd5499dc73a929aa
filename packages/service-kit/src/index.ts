export * from './config';
export * from './database';
export * from './errors';
export * from './health';
export * from './http';
export * from './logger';
export * from './service-host';
export * from './pagination';

export * from './broker';
export * from './consumer';
export * from './errors';
export * from './outbox';
export * from './outbox-relay';
export * from './sql';
export * from './topology';
export * from './parking-lot';

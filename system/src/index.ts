export * from './mail-catcher';
export * from './system';
export * from './platform';

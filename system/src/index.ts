export * from './mail-catcher';
export * from './system';

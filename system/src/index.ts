export * from './launcher/system-processes';
export * from './local-platform/local-platform';

export { buildDriverApp, type DriverApp, SERVICE_NAME, DRIVER_QUEUE } from './app';
export { DriverEnv, loadDriverConfig, type DriverConfig } from './config';

export { driverService } from './app';
export { DriverEnv, type DriverConfig } from './config';

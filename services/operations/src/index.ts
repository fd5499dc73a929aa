export { operationsService } from './app';
export { OperationsEnv, type OperationsConfig } from './config';

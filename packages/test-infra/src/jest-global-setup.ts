import { exportToEnvironment, startInfrastructure, type Infrastructure } from './infrastructure';

declare global {
  var __TEST_INFRASTRUCTURE__: Infrastructure | undefined;
}

/** Jest `globalSetup`: starts (or finds) the real servers once per test run. */
export default async function globalSetup(): Promise<void> {
  const infrastructure = await startInfrastructure();
  exportToEnvironment(infrastructure);
  globalThis.__TEST_INFRASTRUCTURE__ = infrastructure;
}

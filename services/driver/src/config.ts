import { Type, type Static } from '@sinclair/typebox';
import { service } from '@onboarding/contracts';
import { VersionList, serviceEnv } from '@onboarding/service-kit';

export const DRIVER = service('driver');

export const DriverEnv = Type.Object({
  ...serviceEnv(DRIVER),
  /** A registration still PENDING after this long fails with reason `timeout`. */
  SAGA_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 300_000 }),
  SAGA_SWEEP_INTERVAL_MS: Type.Integer({ minimum: 50, default: 5_000 }),
  /** Major versions of driver.registered to publish, e.g. `1,2` while consumers migrate, `2` once none needs v1. */
  PUBLISH_REGISTERED_VERSIONS: VersionList('1,2'),
  CONSUMER_PREFETCH: Type.Integer({ minimum: 1, maximum: 1000, default: 32 }),
});
export type DriverConfig = Static<typeof DriverEnv>;

import { IdentityAccountCreationFailedV1 } from '@onboarding/contracts';
import { handlerFor } from '@onboarding/messaging';
import type { SagaMetrics } from './saga-metrics';
import { failRegistration, loadAnnouncedDriver } from './driver-lifecycle';

/** The directory refused the account: a PENDING driver FAILS with the directory's reason. */
export const onAccountCreationFailed = (saga: Pick<SagaMetrics, 'sagaOutcome'>) =>
  handlerFor(IdentityAccountCreationFailedV1, async (event, context) => {
    let failed = false;
    await context.commit(async (em) => {
      const driver = await loadAnnouncedDriver(em, event.data.driverId);
      failed = driver.status === 'PENDING';
      if (!failed) return;
      failRegistration(em, driver, event.data.reason, `${event.data.code}: ${event.data.reason}`, context.causedBy(driver.id), event.id);
    });
    if (failed) saga.sagaOutcome('failed', event.data.code);
  });

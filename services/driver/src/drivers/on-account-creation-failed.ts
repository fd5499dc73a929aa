import { IdentityAccountCreationFailedV1 } from '@onboarding/contracts';
import { handlerFor } from '@onboarding/messaging';
import type { SagaMetrics } from './saga-metrics';
import { loadAnnouncedDriver, registrationFailure } from './driver-lifecycle';
import { driverStateEffect, historyEffect } from './driver-statements';

/**
 * The directory refused the account: a PENDING driver FAILS with the directory's reason. The entity decides;
 * its row (guarded by the version read), the history entry, the event and the inbox record are one statement.
 */
export const onAccountCreationFailed = (saga: Pick<SagaMetrics, 'sagaOutcome'>) =>
  handlerFor(IdentityAccountCreationFailedV1, async (event, context) => {
    const driver = await loadAnnouncedDriver(context.em, event.data.driverId);
    if (driver.status !== 'PENDING') return;
    const readVersion = driver.version;
    const { entry, event: failed } = registrationFailure(driver, event.data.reason, `${event.data.code}: ${event.data.reason}`, event.id);
    await context.commitInOneStatement({
      effects: [driverStateEffect(context.schema, driver, readVersion), historyEffect(context.schema, entry)],
      events: [{ event: failed, options: context.causedBy(driver.id) }],
    });
    saga.sagaOutcome('failed', event.data.code);
  });

import { DriverRegistrationFailedV1 } from '@onboarding/contracts';
import { handlerFor } from '@onboarding/messaging';
import { notifyAdmins } from './notify-admins';

export const onDriverRegistrationFailed = handlerFor(DriverRegistrationFailedV1, async (event, context) => {
  const { driverId, firstName, lastName, reason } = event.data;
  await context.commit((em) =>
    notifyAdmins(em, 'driver.registration-failed', driverId, `Registration of driver ${firstName} ${lastName} failed: ${reason}`),
  );
});

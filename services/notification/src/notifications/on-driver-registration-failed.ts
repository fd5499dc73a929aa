import { DriverRegistrationFailedV1 } from '@onboarding/contracts';
import { handlerFor } from '@onboarding/messaging';
import type { ActiveRecipients } from './active-recipients';
import { notifyAdmins } from './notify-admins';

export const onDriverRegistrationFailed = (recipients: ActiveRecipients) =>
  handlerFor(DriverRegistrationFailedV1, async (event, context) => {
    const { driverId, firstName, lastName, reason } = event.data;
    await notifyAdmins(
      context,
      recipients,
      'driver.registration-failed',
      driverId,
      `Registration of driver ${firstName} ${lastName} failed: ${reason}`,
    );
  });

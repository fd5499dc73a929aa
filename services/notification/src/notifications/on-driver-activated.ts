import { DriverActivatedV1 } from '@onboarding/contracts';
import { handlerFor } from '@onboarding/messaging';
import type { ActiveRecipients } from './active-recipients';
import { notifyAdmins } from './notify-admins';

export const onDriverActivated = (recipients: ActiveRecipients) =>
  handlerFor(DriverActivatedV1, async (event, context) => {
    const { driverId, firstName, lastName } = event.data;
    await notifyAdmins(context, recipients, 'driver.activated', driverId, `Driver ${firstName} ${lastName} is registered and active.`);
  });

import { DriverActivatedV1 } from '@onboarding/contracts';
import { handlerFor } from '@onboarding/messaging';
import { notifyAdmins } from './notify-admins';

export const onDriverActivated = handlerFor(DriverActivatedV1, async (event, context) => {
  const { driverId, firstName, lastName } = event.data;
  await context.commit((em) => notifyAdmins(em, 'driver.activated', driverId, `Driver ${firstName} ${lastName} is registered and active.`));
});

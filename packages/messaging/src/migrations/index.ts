import type { DatabaseModule } from '@onboarding/service-kit';
import { OutboxMessageSchema } from '../outbox';
import { Migration20261121000000_outbox_inbox } from './Migration20261121000000_outbox_inbox';

/**
 * The messaging runtime's tables in every service schema that uses it: the chassis adds the entity and runs
 * these migrations before the service's own (see the frozen migration for how existing databases are kept).
 */
export const messagingTables: DatabaseModule = {
  name: 'messaging',
  entities: [OutboxMessageSchema],
  migrations: [{ name: 'Migration20261121000000_outbox_inbox', class: Migration20261121000000_outbox_inbox }],
};

import type { DatabaseModule } from '@onboarding/service-kit';
import { OutboxMessageSchema } from '../outbox';
import { Migration20261121000000_outbox_inbox } from './Migration20261121000000_outbox_inbox';
import { Migration20261124010000_retention_indexes } from './Migration20261124010000_retention_indexes';
import { Migration20261124100000_parked_messages } from './Migration20261124100000_parked_messages';
import { Migration20261125000000_outbox_notify_dropped } from './Migration20261125000000_outbox_notify_dropped';

/**
 * The messaging runtime's tables in every service schema that uses it: the chassis adds the entity and runs
 * these migrations before the service's own (see the frozen migration for how existing databases are kept).
 */
export const messagingTables: DatabaseModule = {
  name: 'messaging',
  entities: [OutboxMessageSchema],
  migrations: [
    { name: 'Migration20261121000000_outbox_inbox', class: Migration20261121000000_outbox_inbox },
    { name: 'Migration20261124010000_retention_indexes', class: Migration20261124010000_retention_indexes },
    { name: 'Migration20261124100000_parked_messages', class: Migration20261124100000_parked_messages },
    { name: 'Migration20261125000000_outbox_notify_dropped', class: Migration20261125000000_outbox_notify_dropped },
  ],
};

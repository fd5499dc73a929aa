import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261121000000_initial } from './Migration20261121000000_initial';
import { Migration20261121030000_notification_stream } from './Migration20261121030000_notification_stream';
import { Migration20261122000000_notification_sequence } from './Migration20261122000000_notification_sequence';

/** Committed migrations in order; listed explicitly so compiled and test builds find the same set. */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261121000000_initial', class: Migration20261121000000_initial },
  { name: 'Migration20261121030000_notification_stream', class: Migration20261121030000_notification_stream },
  { name: 'Migration20261122000000_notification_sequence', class: Migration20261122000000_notification_sequence },
];

import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261121000000_initial } from './Migration20261121000000_initial';
import { Migration20261121010000_saga_lifecycle } from './Migration20261121010000_saga_lifecycle';
import { Migration20261121020000_preferred_language } from './Migration20261121020000_preferred_language';
import { Migration20261122000000_history_actor } from './Migration20261122000000_history_actor';
import { Migration20261123000000_driver_erasure } from './Migration20261123000000_driver_erasure';
import { Migration20261124000000_driver_list_filters } from './Migration20261124000000_driver_list_filters';

/** Committed migrations in order; listed explicitly so compiled and test builds find the same set. */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261121000000_initial', class: Migration20261121000000_initial },
  { name: 'Migration20261121010000_saga_lifecycle', class: Migration20261121010000_saga_lifecycle },
  { name: 'Migration20261121020000_preferred_language', class: Migration20261121020000_preferred_language },
  { name: 'Migration20261122000000_history_actor', class: Migration20261122000000_history_actor },
  { name: 'Migration20261123000000_driver_erasure', class: Migration20261123000000_driver_erasure },
  { name: 'Migration20261124000000_driver_list_filters', class: Migration20261124000000_driver_list_filters },
];

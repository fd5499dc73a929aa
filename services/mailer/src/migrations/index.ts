import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261121000000_initial } from './Migration20261121000000_initial';
import { Migration20261121020000_language_preference } from './Migration20261121020000_language_preference';
import { Migration20261121230000_drop_language_preference } from './Migration20261121230000_drop_language_preference';
import { Migration20261123000000_erased_mail } from './Migration20261123000000_erased_mail';

/** Committed migrations in order; listed explicitly so compiled and test builds find the same set. */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261121000000_initial', class: Migration20261121000000_initial },
  { name: 'Migration20261121020000_language_preference', class: Migration20261121020000_language_preference },
  { name: 'Migration20261121230000_drop_language_preference', class: Migration20261121230000_drop_language_preference },
  { name: 'Migration20261123000000_erased_mail', class: Migration20261123000000_erased_mail },
];

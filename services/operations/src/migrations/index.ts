import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261124000000_audit } from './Migration20261124000000_audit';
import { Migration20261125000000_operator_actions } from './Migration20261125000000_operator_actions';

/** Committed migrations in order; listed explicitly so compiled and test builds find the same set. */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261124000000_audit', class: Migration20261124000000_audit },
  { name: 'Migration20261125000000_operator_actions', class: Migration20261125000000_operator_actions },
];

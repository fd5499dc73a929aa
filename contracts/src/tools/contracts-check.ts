import { checkAgainstReleased, snapshotUnreleased } from '../released-snapshots';
import { parseToolArgs } from './command-line';

const USAGE = `usage: npm run contracts:check [-- --snapshot]

  (no option)  fail on any breaking change inside a released major version
  --snapshot   release (snapshot) the versions that have no snapshot yet

An unknown option is an error (exit 2).`;

/**
 * `npm run contracts:check`: fails on any breaking change inside a released major version.
 * `npm run contracts:check -- --snapshot`: releases (snapshots) the versions that have no snapshot yet.
 */
function main(): void {
  const { snapshot } = parseToolArgs(USAGE, { snapshot: { type: 'boolean', default: false } });
  if (snapshot) {
    const written = snapshotUnreleased();
    console.log(written.length ? `released: ${written.join(', ')}` : 'every version is already released');
    return;
  }
  const report = checkAgainstReleased();
  for (const { routingKey, changes } of report.breaking) {
    console.error(`✗ ${routingKey}: breaking change inside a major version`);
    for (const change of changes) console.error(`    ${change.path}: ${change.reason}`);
  }
  if (report.breaking.length) {
    console.error('\nA breaking change needs a new major version: add <event>.v<N+1>.ts beside the old one, publish both');
    console.error('until no consumer needs the old one, and let consumers upcast. See contracts/README.md.');
  }
  for (const routingKey of report.unreleased) {
    console.warn(`! ${routingKey} has no released snapshot yet: run npm run contracts:check -- --snapshot and commit it`);
  }
  for (const file of report.orphanSnapshots) console.warn(`! released/${file} belongs to no contract any more`);
  if (report.breaking.length || report.unreleased.length) process.exit(1);
  console.log('contracts compatible with their released snapshots');
}

main();

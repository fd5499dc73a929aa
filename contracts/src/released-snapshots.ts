import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allEvents } from './catalog';
import { compareSchemas, type BreakingChange } from './compatibility';
import type { EventContract } from './envelope';

/** Where the released schema of every event version is kept (committed, never edited by hand). */
export const RELEASED_DIRECTORY = join(__dirname, '..', 'released');

export function snapshotFile(contract: EventContract, directory = RELEASED_DIRECTORY): string {
  return join(directory, `${contract.routingKey}.schema.json`);
}

/** The JSON Schema as released: TypeBox's runtime symbols dropped, keys as JSON. */
export function toJsonSchema(contract: EventContract): unknown {
  return JSON.parse(JSON.stringify(contract.schema));
}

export interface CompatibilityReport {
  breaking: { routingKey: string; changes: BreakingChange[] }[];
  unreleased: string[];
  orphanSnapshots: string[];
}

/** Compares every contract with its released snapshot. */
export function checkAgainstReleased(contracts: readonly EventContract[] = allEvents, directory = RELEASED_DIRECTORY): CompatibilityReport {
  const report: CompatibilityReport = { breaking: [], unreleased: [], orphanSnapshots: [] };
  for (const contract of contracts) {
    const file = snapshotFile(contract, directory);
    if (!existsSync(file)) {
      report.unreleased.push(contract.routingKey);
      continue;
    }
    const changes = compareSchemas(JSON.parse(readFileSync(file, 'utf8')), toJsonSchema(contract));
    if (changes.length) report.breaking.push({ routingKey: contract.routingKey, changes });
  }
  const known = new Set(contracts.map((contract) => `${contract.routingKey}.schema.json`));
  if (existsSync(directory)) {
    report.orphanSnapshots = readdirSync(directory).filter((file) => file.endsWith('.schema.json') && !known.has(file));
  }
  return report;
}

/** Writes snapshots for versions not released yet; a released snapshot is never overwritten. */
export function snapshotUnreleased(contracts: readonly EventContract[] = allEvents, directory = RELEASED_DIRECTORY): string[] {
  mkdirSync(directory, { recursive: true });
  const written: string[] = [];
  for (const contract of contracts) {
    const file = snapshotFile(contract, directory);
    if (existsSync(file)) continue;
    writeFileSync(file, `${JSON.stringify(toJsonSchema(contract), null, 2)}\n`);
    written.push(contract.routingKey);
  }
  return written;
}

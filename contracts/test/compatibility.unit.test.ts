import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { DriverRegisteredV1, allEvents, checkAgainstReleased, compareSchemas, defineEvent, snapshotUnreleased, toJsonSchema } from '../src';

function variantOf(properties: Record<string, unknown>, required: string[]) {
  return defineEvent('driver.registered', 1, Type.Unsafe({ type: 'object', properties, required, additionalProperties: true }));
}

const released = toJsonSchema(DriverRegisteredV1) as { properties: Record<string, unknown>; required: string[] };

describe('contract compatibility check', () => {
  it('passes on main: every contract matches its released snapshot and every version is released', () => {
    const report = checkAgainstReleased();
    expect(report.breaking).toEqual([]);
    expect(report.unreleased).toEqual([]);
    expect(report.orphanSnapshots).toEqual([]);
  });

  it('fails, naming the field, when a required field is removed from a v1 schema', () => {
    const { email: _removed, ...properties } = released.properties;
    const broken = variantOf(
      properties,
      released.required.filter((name) => name !== 'email'),
    );
    const report = checkAgainstReleased([broken]);
    expect(report.breaking).toEqual([
      { routingKey: 'driver.registered.v1', changes: [{ path: '/email', reason: 'field removed (it was required)' }] },
    ]);
  });

  it('fails on a new required field, a changed type and a tightened constraint; accepts a new optional field', () => {
    const withRequired = variantOf({ ...released.properties, preferredLanguage: { type: 'string' } }, [...released.required, 'preferredLanguage']);
    expect(compareSchemas(released, toJsonSchema(withRequired))).toEqual([{ path: '/preferredLanguage', reason: 'new required field' }]);

    const retyped = variantOf({ ...released.properties, version: { type: 'string' } }, released.required);
    expect(compareSchemas(released, toJsonSchema(retyped))).toEqual([{ path: '/version', reason: 'type changed from integer to string' }]);

    const tighter = variantOf(
      { ...released.properties, firstName: { type: 'string', minLength: 1, maxLength: 20, pattern: '\\S' } },
      released.required,
    );
    expect(compareSchemas(released, toJsonSchema(tighter))).toEqual([{ path: '/firstName', reason: 'maxLength tightened to 20' }]);

    const additive = variantOf({ ...released.properties, nickname: { type: 'string' } }, released.required);
    expect(compareSchemas(released, toJsonSchema(additive))).toEqual([]);
  });

  it('reminds to snapshot a new version and never overwrites a released one', () => {
    const directory = mkdtempSync(join(tmpdir(), 'released-'));
    expect(checkAgainstReleased(allEvents, directory).unreleased).toHaveLength(allEvents.length);
    expect(snapshotUnreleased(allEvents, directory)).toHaveLength(allEvents.length);
    expect(snapshotUnreleased(allEvents, directory)).toEqual([]);
    expect(checkAgainstReleased(allEvents, directory)).toEqual({ breaking: [], unreleased: [], orphanSnapshots: [] });
  });

  it('runs as `npm run contracts:check` and exits 0 on main', () => {
    const output = execFileSync(process.execPath, [join(__dirname, '..', 'dist', 'tools', 'contracts-check.js')], { encoding: 'utf8' });
    expect(output).toContain('contracts compatible');
  });
});

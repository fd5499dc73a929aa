import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { originOf, summarizeProfile } from '../src/bench/cpu-profile';

describe('CPU profile summary', () => {
  it('names where code comes from', () => {
    expect(originOf('file:///app/node_modules/@mikro-orm/core/entity/EntityManager.js', 'find')).toBe('@mikro-orm/core');
    expect(originOf('file:///app/node_modules/.pnpm/x/node_modules/pg/lib/client.js', 'query')).toBe('pg');
    expect(originOf('file:///app/packages/messaging/dist/consumer.js', 'handle')).toBe('@onboarding/messaging');
    expect(originOf('file:///app/services/driver/dist/app.js', 'build')).toBe('@onboarding/driver');
    expect(originOf('file:///app/system/dist/bench.js', 'flow')).toBe('@onboarding/system');
    expect(originOf('file:///app/contracts/dist/validation.js', 'validate')).toBe('@onboarding/contracts');
    expect(originOf('node:internal/streams/writable', 'write')).toBe('node');
    expect(originOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(originOf('', 'writeBuffer')).toBe('(native)');
  });

  it('adds self time per origin and per function, leaving idle out', () => {
    const folder = mkdtempSync(join(tmpdir(), 'profile-'));
    try {
      const file = join(folder, 'x.cpuprofile');
      const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
      writeFileSync(
        file,
        JSON.stringify({
          nodes: [
            { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 4] },
            { id: 2, callFrame: frame('(idle)', '') },
            { id: 3, callFrame: frame('query', 'file:///a/node_modules/pg/lib/client.js') },
            { id: 4, callFrame: frame('flush', 'file:///a/node_modules/@mikro-orm/core/x.js') },
          ],
          // each sample's time is the delta that follows it
          samples: [2, 3, 3, 4, 2],
          timeDeltas: [0, 5_000, 1_000, 1_000, 2_000],
        }),
      );
      const summary = summarizeProfile(file);
      expect(summary.busyMs).toBe(4);
      expect(summary.byOrigin).toEqual([
        ['pg', 2],
        ['@mikro-orm/core', 2],
      ]);
      expect(summary.byFunction[0]).toEqual(['query (pg)', 2]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

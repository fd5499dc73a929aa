import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Milliseconds on the CPU (idle excluded). */
  busyMs: number;
  /** Self time by where the code comes from: an npm package, one of ours, Node.js itself, GC. */
  byOrigin: [string, number][];
  /** Self time by function, `name (origin)`. */
  byFunction: [string, number][];
}

/** Where a frame's code lives: `pg`, `@mikro-orm/core`, `@onboarding/messaging`, `node`, `(garbage collector)`. */
export function originOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first, second] = url.slice(modules + '/node_modules/'.length).split('/');
    return first?.startsWith('@') ? `${first}/${second}` : (first ?? url);
  }
  const workspace = /\/(packages|services)\/([^/]+)\//.exec(url);
  if (workspace) return `@onboarding/${workspace[2]}`;
  const single = /\/(contracts|system)\/(dist|src)\//.exec(url);
  if (single) return `@onboarding/${single[1]}`;
  return url;
}

/** Self time per origin and per function from a V8 `.cpuprofile` (what `--cpu-prof` writes). */
export function summarizeProfile(file: string, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; the time a sample stands for is the delta after it.
  for (let i = 0; i < profile.samples.length; i += 1) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfMicros.set(profile.samples[i]!, (selfMicros.get(profile.samples[i]!) ?? 0) + delta);
  }
  const origins = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of selfMicros) {
    const { functionName, url } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    busy += micros;
    const origin = originOf(url, functionName);
    origins.set(origin, (origins.get(origin) ?? 0) + micros);
    const name = `${functionName || '(anonymous)'} (${origin})`;
    functions.set(name, (functions.get(name) ?? 0) + micros);
  }
  const ranked = (values: Map<string, number>) =>
    [...values.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]): [string, number] => [name, Math.round(micros / 100) / 10]);
  return { busyMs: Math.round(busy / 1000), byOrigin: ranked(origins), byFunction: ranked(functions) };
}

#!/usr/bin/env node
// Runtime images get production dependencies only. `turbo prune` keeps the workspaces a service needs,
// including test-only ones (test-infra, and what it alone needs: dev-mail, broker-setup) reached through
// devDependencies. This keeps the workspaces the image's package reaches through `dependencies`, drops the
// others and every devDependencies block, so `npm install --omit=dev` installs exactly what runs.
// usage: strip-dev-dependencies.js <pruned folder> <package name, e.g. @onboarding/driver>
const { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = process.argv[2] ?? '.';
const target = process.argv[3] ?? (process.env.SERVICE ? `@onboarding/${process.env.SERVICE}` : undefined);
if (!target) {
  console.error('usage: strip-dev-dependencies.js <pruned folder> <package name>');
  process.exit(2);
}

/** Every workspace in the pruned tree: folder and manifest, by package name. */
const workspaces = new Map();
for (const folder of [
  'contracts',
  // The admin console: the gateway serves its build, so the gateway's image holds it.
  'console',
  ...['packages', 'services'].flatMap((group) =>
    existsSync(join(root, group)) ? readdirSync(join(root, group)).map((name) => join(group, name)) : [],
  ),
]) {
  const file = join(root, folder, 'package.json');
  if (existsSync(file)) workspaces.set(JSON.parse(readFileSync(file, 'utf8')).name, folder);
}
if (!workspaces.has(target)) {
  console.error(`${target} is not a workspace of ${root}`);
  process.exit(2);
}

const kept = new Set();
const pending = [target];
while (pending.length > 0) {
  const name = pending.pop();
  if (kept.has(name)) continue;
  kept.add(name);
  const pkg = JSON.parse(readFileSync(join(root, workspaces.get(name), 'package.json'), 'utf8'));
  for (const dependency of Object.keys(pkg.dependencies ?? {})) if (workspaces.has(dependency)) pending.push(dependency);
}
for (const [name, folder] of workspaces) if (!kept.has(name)) rmSync(join(root, folder), { recursive: true, force: true });

const manifests = ['package.json', ...[...kept].map((name) => join(workspaces.get(name), 'package.json'))];
for (const manifest of manifests) {
  const file = join(root, manifest);
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  delete pkg.devDependencies;
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
}
console.log(`production manifests: ${manifests.join(', ')}`);

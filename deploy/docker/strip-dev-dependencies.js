#!/usr/bin/env node
// Runtime images get production dependencies only. `turbo prune` keeps the workspaces a service needs,
// including test-only ones (test-infra) reached through devDependencies; this drops those workspaces and
// every devDependencies block so `npm install --omit=dev` installs exactly what runs.
const { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = process.argv[2] ?? '.';
// dev-mail (the local mail catcher) reaches a service only through test-infra, never at run time.
const TEST_ONLY_WORKSPACES = ['packages/test-infra', 'packages/dev-mail'];

for (const workspace of TEST_ONLY_WORKSPACES) rmSync(join(root, workspace), { recursive: true, force: true });

const manifests = ['package.json', 'contracts/package.json'];
for (const group of ['packages', 'services']) {
  const folder = join(root, group);
  if (!existsSync(folder)) continue;
  for (const name of readdirSync(folder)) manifests.push(join(group, name, 'package.json'));
}
for (const manifest of manifests) {
  const file = join(root, manifest);
  if (!existsSync(file)) continue;
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  delete pkg.devDependencies;
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
}
console.log(`production manifests: ${manifests.filter((m) => existsSync(join(root, m))).join(', ')}`);

// Layering of the monorepo, checked by `npm run lint` (the root task `lint:deps`).
// Dependencies point one way: contracts <- packages/* <- services/* <- system.
// Workspaces import each other by package name (`@onboarding/messaging`); node_modules holds a symlink to the
// workspace folder, and dependency-cruiser follows it to its real path (packages/messaging/dist/... once built),
// so every rule below names workspace folders, never package names, and sees those edges.

/** Files that only tests run: test folders and *.test.ts anywhere. */
const TEST = '(^|/)test/|\\.test\\.ts$';
/** The launcher that starts the platform for real (`npm start`): production code as far as test-infra goes. */
const LAUNCHER = '^system/src/(launcher/|start-system\\.ts$|system\\.ts$)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle makes load order matter and modules impossible to reason about one at a time.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve is a missing dependency or a typo (build the workspaces first).',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'contracts-depend-on-nothing-of-ours',
      severity: 'error',
      comment: 'contracts is the bottom layer: every other workspace reads it, so it imports none of them ' + '(its tests may use test-infra).',
      from: { path: '^contracts/', pathNot: TEST },
      to: { path: '^(packages|services|system)/' },
    },
    {
      name: 'contract-tests-only-use-test-infra',
      severity: 'error',
      comment: "contracts' tests may use the test infrastructure, and nothing else above contracts.",
      from: { path: '^contracts/', pathNot: '^contracts/src/' },
      to: { path: '^(packages/(?!test-infra/)|services/|system/)' },
    },
    {
      name: 'packages-do-not-depend-on-services-or-system',
      severity: 'error',
      comment: 'Shared packages sit below the services: a package importing a service or system inverts the layers.',
      from: { path: '^packages/' },
      to: { path: '^(services|system)/' },
    },
    {
      name: 'services-do-not-depend-on-system',
      severity: 'error',
      comment: 'system drives the services; a service never reaches up into it.',
      from: { path: '^services/' },
      to: { path: '^system/' },
    },
    {
      name: 'no-service-to-other-service',
      severity: 'error',
      comment: 'Services talk over the broker and HTTP only, so each deploys on its own; only system may import them all.',
      from: { path: '^services/([^/]+)/' },
      to: { path: '^services/', pathNot: '^services/$1/' },
    },
    {
      name: 'service-kit-not-to-messaging',
      severity: 'error',
      comment: 'service-kit (HTTP, config, logging, health) must stay usable without the messaging package.',
      from: { path: '^packages/service-kit/' },
      to: { path: '^packages/messaging/' },
    },
    {
      name: 'production-not-to-test-infra',
      severity: 'error',
      comment:
        'test-infra (testcontainers, mail catcher, probes) is for tests, bench, chaos and the test harness; ' +
        'production code and the launcher must not import it.',
      from: { path: ['^(contracts|packages/[^/]+|services/[^/]+)/src/', LAUNCHER], pathNot: '^packages/test-infra/' },
      to: { path: '^packages/test-infra/' },
    },
    {
      name: 'migrations-only-import-mikro-orm',
      severity: 'error',
      comment:
        'A committed migration must replay the same SQL forever: it imports MikroORM (and its sibling migrations, ' +
        'for the index) and nothing that can change under it.',
      from: { path: '^services/([^/]+)/src/migrations/' },
      to: { pathNot: ['^node_modules/@mikro-orm/', '^services/$1/src/migrations/'] },
    },
  ],
  options: {
    // Edges into another workspace stop at its entry file: its own files are checked from its own folder.
    doNotFollow: { path: ['node_modules', '(^|/)dist/'] },
    // Type-only imports are dependencies too: a layering rule holds for them as well.
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['main', 'types'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};

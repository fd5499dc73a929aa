/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  globalSetup: require.resolve('@onboarding/test-infra/dist/jest-global-setup.js'),
  globalTeardown: require.resolve('@onboarding/test-infra/dist/jest-global-teardown.js'),
  reporters: ['default', require.resolve('@onboarding/test-infra/dist/summary-reporter.js')],
  testTimeout: 60000,
  // Each file starts the whole platform (five processes); side by side on two cores they would time each other out.
  maxWorkers: 1,
};

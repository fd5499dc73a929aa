// @ts-check
const { join } = require('node:path');
const { selectedLevel, testPattern } = require('./jest/levels');

/**
 * The jest configuration every workspace shares; a workspace's `jest.config.js` is
 * `module.exports = { preset: '@onboarding/test-infra' };` plus what only it needs.
 * Setup, teardown and the reporter are the compiled ones in dist: turbo builds this package before any
 * workspace's tests run (`test` depends on `^build`).
 */
const level = selectedLevel();

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: [testPattern(level)],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  globalSetup: join(__dirname, 'jest', 'global-setup.js'),
  // Stops what the setup started; nothing when it started nothing.
  globalTeardown: join(__dirname, 'dist', 'jest-global-teardown.js'),
  // The summary reporter appends each workspace's totals to $TEST_SUMMARY_FILE for `.ci/run`'s closing line.
  reporters: ['default', join(__dirname, 'dist', 'summary-reporter.js')],
  testTimeout: 60000,
  // A run of one level meets workspaces without tests of that level; a full run still fails on a workspace
  // whose tests have gone missing.
  passWithNoTests: level !== undefined,
};

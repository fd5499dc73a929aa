// @ts-check
const { globSync } = require('node:fs');
const { needsServers } = require('./levels');

/**
 * Jest `globalSetup` of the shared preset: starts (or finds) PostgreSQL and RabbitMQ only when the run
 * holds a test that needs them. Unit and pact tests need none, so `npm run test:unit`, `npm run test:pact`
 * and the packages with only such tests (contracts, telemetry) run without servers, and never start
 * containers where a Docker engine answers.
 * @param {import('@jest/types').Config.GlobalConfig} _globalConfig
 * @param {import('@jest/types').Config.ProjectConfig} projectConfig
 */
module.exports = async function globalSetup(_globalConfig, projectConfig) {
  // The files the project's own testMatch selects (the preset derives it from TEST_LEVEL).
  const files = projectConfig.roots.flatMap((root) => globSync(projectConfig.testMatch, { cwd: root }));
  if (!files.some(needsServers)) return;
  /** @type {{ default: () => Promise<void> }} */
  const setup = require('../dist/jest-global-setup.js');
  await setup.default();
};

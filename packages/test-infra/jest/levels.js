// @ts-check
/**
 * The test levels, named by each test file's suffix (`driver.unit.test.ts`, `mailer.component.test.ts`,
 * `driver-events.provider.pact.test.ts`, `restart.e2e.test.ts`). `TEST_LEVEL` picks one level for a run;
 * unset, every level runs (what `npm test` does).
 */
const LEVELS = ['unit', 'component', 'pact', 'e2e'];

/** Levels that run inside the jest process and need no PostgreSQL or RabbitMQ. */
const WITHOUT_SERVERS = ['unit', 'pact'];

/**
 * The level asked for, or undefined for all of them. An unknown name fails rather than matching no file,
 * because a level run passes with no tests (see the preset) and a typo would otherwise pass silently.
 * @param {NodeJS.ProcessEnv} env
 * @returns {string | undefined}
 */
function selectedLevel(env = process.env) {
  const level = env.TEST_LEVEL;
  if (!level) return undefined;
  if (!LEVELS.includes(level)) throw new Error(`TEST_LEVEL=${level} is not a test level; use one of: ${LEVELS.join(', ')}`);
  return level;
}

/**
 * The jest `testMatch` glob for a level, or for every test file.
 * @param {string | undefined} level
 */
function testPattern(level) {
  return level ? `**/*.${level}.test.ts` : '**/*.test.ts';
}

/**
 * Whether a test file needs the real servers. A file without a level suffix counts as needing them, so
 * a new file that has not been given a level yet still gets its servers.
 * @param {string} file
 */
function needsServers(file) {
  return !WITHOUT_SERVERS.some((level) => file.endsWith(`.${level}.test.ts`));
}

module.exports = { LEVELS, selectedLevel, testPattern, needsServers };

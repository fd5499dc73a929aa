import { appendFileSync } from 'node:fs';

interface AggregatedResults {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numRuntimeErrorTestSuites: number;
}

/**
 * A jest reporter that appends each package's totals to `$TEST_SUMMARY_FILE`, so a monorepo run can print
 * one closing line for all packages (`.ci/run` does).
 */
export default class SummaryReporter {
  onRunComplete(_contexts: unknown, results: AggregatedResults): void {
    const file = process.env.TEST_SUMMARY_FILE;
    if (!file) return;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    // The fourth column is the Node.js version the tests ran on, so CI can say which runtime it tested.
    appendFileSync(file, `${results.numPassedTests} ${failed} ${results.numPendingTests} ${process.version}\n`);
  }
}
module.exports = SummaryReporter;

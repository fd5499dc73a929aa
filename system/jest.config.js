// maxWorkers 1: each end-to-end file starts the whole platform (five processes); side by side on two cores they would time each other out.
module.exports = { preset: '@onboarding/test-infra', maxWorkers: 1 };

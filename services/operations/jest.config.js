module.exports = { preset: '@onboarding/test-infra' };

/** The chaos suite (`npm run test:chaos`): real app processes, its own broker, one scenario at a time. */
module.exports = {
  displayName: 'chaos',
  testEnvironment: 'node',
  rootDir: '.',
  testMatch: ['<rootDir>/test/chaos/**/*.chaos-spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
  globalSetup: '<rootDir>/test/chaos/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/chaos/support/global-teardown.ts',
  // Scenarios kill brokers and processes: never two at once (and the machine is small).
  maxWorkers: 1,
  testTimeout: 300_000,
  // Scenario files run in their number order, so the table reads 1..8.
  testSequencer: '<rootDir>/test/chaos/support/sequencer.js',
};

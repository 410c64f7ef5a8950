/** Unit specs live beside the code; e2e suites run against a real broker and Postgres. */
const ts = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };

module.exports = {
  // Project configs cannot set it: e2e suites start apps and wait on a real broker (unit specs get 10 s, test/support/unit-timeout.ts).
  testTimeout: 120_000,
  // Suites stop and restart real brokers; a kafkajs client of an already-closed app can keep a
  // reconnect timer to a broker that is gone (seen once in ~10 full runs). Results are final by then.
  forceExit: true,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/unit/**/*.spec.ts'],
      transform: ts,
      setupFiles: ['<rootDir>/test/support/setup-env.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/unit-timeout.ts'],
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      transform: ts,
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      setupFiles: ['<rootDir>/test/support/setup-env.ts'],
    },
  ],
};

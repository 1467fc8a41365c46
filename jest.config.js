/** Jest runs the TypeScript sources directly through ts-jest; node and e2e tests load the built dist/. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // The scale-out suite (three hosts, 10,000 events, its own broker and PostgreSQL) runs with
  // `npm run test:multihost`, which .ci/run calls.
  // The fault-injection suite (thousands of events, kill -9) runs with `npm run test:reliability` until it has
  // been proven green in CI's time budget; see the README.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/reliability/', '<rootDir>/test/multihost/'],
  testTimeout: 30000,
};

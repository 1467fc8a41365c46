/** Jest runs the TypeScript sources directly through ts-jest; node and e2e tests load the built dist/. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // The fault-injection suite (thousands of events, kill -9) and the scale-out suite (three hosts, 10,000 events,
  // their own broker and PostgreSQL) run on their own with `npm run test:reliability` and
  // `npm run test:multihost`; .ci/run runs both after `npm test`; see the README.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/reliability/', '<rootDir>/test/multihost/'],
  testTimeout: 30000,
};

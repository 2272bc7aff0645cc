// Octokit v20+ and a few of its dependencies ship ESM only. jest runs CommonJS,
// so we let ts-jest transpile exactly those packages (allowJs) and nothing else
// under node_modules. See ../shared/PITFALLS.md.
const esmOnly = [
  '@octokit',
  'universal-user-agent',
  'before-after-hook',
  'toad-cache',
  'universal-github-app-jwt',
  'fast-content-type-parse',
  'json-with-bigint',
  'content-type',
  'bottleneck',
];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: 'tsconfig.jest.json', diagnostics: false }],
  },
  transformIgnorePatterns: [`node_modules/(?!(${esmOnly.join('|')})/)`],
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  testTimeout: 30000,
};

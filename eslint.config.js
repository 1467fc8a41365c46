// ESLint flat config: typescript-eslint's recommended rules for the TypeScript sources; Prettier owns layout.
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

// The Node.js globals the plain JS scripts use (Node 18+ has fetch and URL built in).
const nodeGlobals = Object.fromEntries(
  [
    'require',
    'module',
    'process',
    'console',
    '__dirname',
    'Buffer',
    'URL',
    'fetch',
    'AbortController',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
  ].map((name) => [name, 'readonly']),
);

module.exports = tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.node-red/', '.tmp/', 'coverage/', 'bench/results/', 'nodes/**/*.html'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: nodeGlobals },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
);

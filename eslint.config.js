// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The pure core decides; it never talks to AWS, HTTP, logs, the environment or the clock. */
const PURE_CORE_IMPORTS = [
  { group: ['@aws-sdk/*', 'aws-sdk', 'aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'], message: 'The pure core cannot import the AWS SDK or CDK: put the call in an adapter behind a port (src/ports).' },
  { group: ['hono', 'hono/*', '@hono/*'], message: 'The pure core cannot import Hono: HTTP belongs in src/api.' },
  { group: ['@aws-lambda-powertools/*'], message: 'The pure core cannot import Powertools: log in the handler, not in the core.' },
  { group: ['node:*', 'fs', 'http', 'https', 'net', 'child_process', 'os', 'path'], message: 'The pure core does no I/O: pass what it needs in as data.' },
  { group: ['../adapters/*', '../engine/*', '../api/*', '../config/*', '../ports/*'], message: 'The pure core depends on nothing outside src/core.' },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', '.switchyard/**', 'coverage/**', 'test/fixtures/lint/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{js,mjs}'],
    languageOptions: { globals: { process: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', console: 'readonly', Buffer: 'readonly' } },
  },
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: PURE_CORE_IMPORTS }],
      'no-restricted-globals': ['error', { name: 'process', message: 'The pure core reads no process.env: configuration comes in as data.' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'The pure core reads no process.env: configuration comes in as data.' },
        { object: 'Date', property: 'now', message: 'The pure core never reads the clock: take `now` as a parameter.' },
        { object: 'Math', property: 'random', message: 'The pure core is deterministic: take randomness (ids) as input.' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'The pure core never reads the clock: take `now` as a parameter.' }],
    },
  },
);

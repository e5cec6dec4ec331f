// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The pure core decides; it never talks to AWS, HTTP, logs, the environment or the clock. */
const PURE_CORE_IMPORTS = [
  {
    group: ['@aws-sdk/*', 'aws-sdk', 'aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
    message: 'The pure core cannot import the AWS SDK or CDK: put the call in an adapter behind a port (src/ports).',
  },
  { group: ['hono', 'hono/*', '@hono/*'], message: 'The pure core cannot import Hono: HTTP belongs in src/api.' },
  { group: ['@aws-lambda-powertools/*'], message: 'The pure core cannot import Powertools: log in the handler, not in the core.' },
  { group: ['node:*', 'fs', 'http', 'https', 'net', 'child_process', 'os', 'path'], message: 'The pure core does no I/O: pass what it needs in as data.' },
];

/**
 * The layers of src/ and which may import which (the README's "How it works" shows the same
 * table). An arrow not listed here fails lint; test/config/lint.test.ts proves each rule on a fixture.
 */
export const LAYERS = {
  core: { may: [], why: 'the pure core depends on nothing outside src/core' },
  ports: { may: ['core'], why: 'ports are interfaces over the core' },
  config: { may: ['core'], why: 'config is validated data for the core' },
  workflow: { may: ['core'], why: 'the workflow protocol and definition speak only the core' },
  contract: { may: ['core'], why: 'the wire contract is the release view every screen renders, made from the core’s answers alone' },
  resources: { may: ['core', 'config'], why: 'resource names and shapes are pure facts shared by adapters and the CDK stack' },
  engine: {
    may: ['core', 'ports', 'config', 'workflow', 'resources'],
    why: 'the engine talks to the world through ports; adapters are wired in src/composition',
  },
  adapters: {
    may: ['core', 'ports', 'config', 'workflow', 'resources', 'contract'],
    why: 'an adapter implements a port; it never calls the engine or the API',
  },
  api: { may: ['core', 'ports', 'config', 'engine', 'contract'], why: 'the API calls use cases; adapters are wired in src/composition' },
  cli: { may: ['core', 'ports', 'config', 'ui', 'contract'], why: 'the CLI talks to the API over HTTP (and serves the dashboard page beside it)' },
  ui: { may: [], why: 'the dashboard page is a static file and its loader' },
  composition: {
    may: ['core', 'ports', 'config', 'workflow', 'resources', 'engine', 'adapters', 'api', 'ui', 'contract'],
    why: 'composition wires adapters into the engine and the API',
  },
  local: { may: ['core', 'ports', 'config', 'engine', 'composition', 'contract'], why: 'the local demo uses the wired local mode, never an adapter directly' },
};

const layerPattern = (layer) => `^(\\.\\./)+(src/)?${layer}(/|\\.js$)`;

/** no-restricted-imports patterns for a file in `layer`: every other layer it may not import. */
function layerRules(layer) {
  const { may, why } = LAYERS[layer];
  return Object.keys(LAYERS)
    .filter((other) => other !== layer && !may.includes(other))
    .map((other) => ({ regex: layerPattern(other), message: `src/${layer} may not import src/${other}: ${why} (allowed: ${may.join(', ') || 'nothing'}).` }));
}

/** Adapters do not share code through each other; what two adapters share lives in src/adapters/aws. */
const CROSS_ADAPTER = {
  regex: '^\\.\\./(?!aws/)[^./][^/]*/',
  message: 'An adapter may not import another adapter: put what they share in src/adapters/aws (AWS SDK helpers) or a port.',
};

/** Outside src/: the CDK app and the entry points. */
const OUTSIDE_SRC = {
  lib: {
    may: ['core', 'config', 'workflow', 'resources'],
    why: 'the CDK stack builds resources from config, the workflow definition and resource facts, never from an adapter',
  },
  lambdas: {
    may: ['core', 'ports', 'config', 'workflow', 'engine', 'api', 'composition'],
    why: 'entry points wire through src/composition and call use cases',
  },
  bin: { may: ['core', 'config', 'cli', 'local', 'composition', 'contract'], why: 'entry points only wire through src/composition' },
};

function outsideRules(folder) {
  const { may, why } = OUTSIDE_SRC[folder];
  return Object.keys(LAYERS)
    .filter((layer) => !may.includes(layer))
    .map((layer) => ({ regex: `^\\.\\./src/${layer}/`, message: `${folder}/ may not import src/${layer}: ${why} (allowed: ${may.join(', ')}).` }));
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', '.switchyard/**', 'coverage/**', 'test/fixtures/lint/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{js,mjs}'],
    languageOptions: { globals: { process: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', console: 'readonly', Buffer: 'readonly' } },
  },
  // The dashboard's script runs in the browser, as it is (no build step).
  {
    files: ['src/ui/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'history',
          'sessionStorage',
          'fetch',
          'crypto',
          'URLSearchParams',
          'FormData',
          'AbortController',
          'TextDecoderStream',
          'setInterval',
          'setTimeout',
          'clearTimeout',
          'console',
        ].map((name) => [name, 'readonly']),
      ),
    },
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
      'no-restricted-imports': ['error', { patterns: [...PURE_CORE_IMPORTS, ...layerRules('core')] }],
      'no-restricted-globals': ['error', { name: 'process', message: 'The pure core reads no process.env: configuration comes in as data.' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'The pure core reads no process.env: configuration comes in as data.' },
        { object: 'Date', property: 'now', message: 'The pure core never reads the clock: take `now` as a parameter.' },
        { object: 'Math', property: 'random', message: 'The pure core is deterministic: take randomness (ids) as input.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'The pure core never reads the clock: take `now` as a parameter.' },
      ],
    },
  },
  ...Object.keys(LAYERS)
    .filter((layer) => layer !== 'core' && layer !== 'adapters')
    .map((layer) => ({ files: [`src/${layer}/**/*.ts`], rules: { 'no-restricted-imports': ['error', { patterns: layerRules(layer) }] } })),
  { files: ['src/adapters/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [...layerRules('adapters'), CROSS_ADAPTER] }] } },
  ...Object.keys(OUTSIDE_SRC).map((folder) => ({
    files: [`${folder}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: outsideRules(folder) }] },
  })),
);

/**
 * Each Lambda bundle's size and its cold module-load time, built with the stack's own esbuild
 * options and externals, beside the cold load of the SDK clients the function loads at start
 * (DynamoDB and Step Functions, from the runtime) measured in the same runs, alternately (this
 * machine's load changes by the second). Goal: every bundle under 500 KB minified and loading within
 * 1.3x of its clients alone.
 *
 *   npm run bench:bundles
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLING, WORKFLOW_BUNDLED_SDKS, defineConfig, externalModules } from '../lib/constructs/switchyard-function.js';
import { loadConfigWithSource } from '../src/config/load.js';

const { raw } = await loadConfigWithSource('examples/aws/switchyard.config.ts');
// Under node_modules so the external AWS SDK resolves as the Lambda runtime would provide it.
const out = join('node_modules', '.cache', 'switchyard-bundles');
mkdirSync(out, { recursive: true });
const RUNS = 7;
const GOAL_KB = 500;
const GOAL_RATIO = 1.3;

/** What each function loads at cold start besides its own code: the runtime's clients every function makes. */
const CLIENTS = ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-sfn'];
const clientsOnly = join(out, 'clients.mjs');
writeFileSync(clientsOnly, CLIENTS.map((m) => `import ${JSON.stringify(m)};`).join('\n'));

const FUNCTIONS: Record<string, readonly string[]> = { workflow: WORKFLOW_BUNDLED_SDKS, api: [], 'ecr-trigger': [] };

/** One cold load of `file` in a new node process, in ms. */
function coldLoad(file: string): number {
  const ms = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', `const t = performance.now(); await import(${JSON.stringify(`./${file}`)}); console.log(performance.now() - t);`],
    {
      env: {
        ...process.env,
        TABLE_NAME: 'switchyard',
        STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Switchyard-release',
        AWS_REGION: 'eu-west-1',
        NODE_NO_WARNINGS: '1',
      },
      encoding: 'utf8',
    },
  );
  return Number(ms.trim().split('\n').at(-1));
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

console.log('bundle          size (minified)   cold load, median of 7   SDK clients alone   ratio');
let met = true;
for (const [name, bundledSdks] of Object.entries(FUNCTIONS)) {
  const outfile = join(out, `${name}.mjs`);
  await build({
    entryPoints: [join('lambdas', `${name}.ts`)],
    bundle: true,
    platform: 'node',
    format: BUNDLING.format,
    minify: BUNDLING.minify,
    target: BUNDLING.target,
    mainFields: [...BUNDLING.mainFields],
    banner: { js: BUNDLING.banner },
    external: externalModules(bundledSdks),
    define: defineConfig(raw),
    outfile,
    logLevel: 'error',
  });
  const size = statSync(outfile).size;
  const bundleTimes: number[] = [];
  const clientTimes: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bundleTimes.push(coldLoad(outfile));
    clientTimes.push(coldLoad(clientsOnly));
  }
  const [bundle, clients] = [median(bundleTimes), median(clientTimes)];
  const ratio = bundle / clients;
  met &&= size / 1024 < GOAL_KB && ratio <= GOAL_RATIO;
  console.log(
    `${name.padEnd(15)} ${`${(size / 1024).toFixed(0)} KB`.padEnd(17)} ${`${bundle.toFixed(0)} ms (${Math.min(...bundleTimes).toFixed(0)}-${Math.max(...bundleTimes).toFixed(0)})`.padEnd(24)} ${`${clients.toFixed(0)} ms`.padEnd(19)} ${ratio.toFixed(2)}x`,
  );
}
console.log(`\ngoal: under ${GOAL_KB} KB each, cold load within ${GOAL_RATIO}x of the SDK clients alone: ${met ? 'met' : 'NOT met'}`);

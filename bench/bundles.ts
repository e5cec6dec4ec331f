/**
 * Each Lambda bundle's size and its cold module-load time, built with the stack's own esbuild
 * options (goal: every bundle under 500 KB minified and loading in under 150 ms).
 *
 *   npm run bench:bundles
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLING, defineConfig } from '../lib/constructs/switchyard-function.js';
import { loadConfigWithSource } from '../src/config/load.js';

const { raw } = await loadConfigWithSource('examples/aws/switchyard.config.ts');
// Under node_modules so the external AWS SDK resolves as the Lambda runtime would provide it.
const out = join('node_modules', '.cache', 'switchyard-bundles');
mkdirSync(out, { recursive: true });
const RUNS = 7;

console.log('bundle          size (minified)   cold load, median of 7 (min-max)');
for (const name of ['workflow', 'api', 'ecr-trigger']) {
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
    external: [...BUNDLING.externalModules],
    define: defineConfig(raw),
    outfile,
    logLevel: 'error',
  });
  const size = statSync(outfile).size;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const ms = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `const t = performance.now(); await import(${JSON.stringify(`./${outfile}`)}); console.log(performance.now() - t);`],
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
    times.push(Number(ms.trim().split('\n').at(-1)));
  }
  times.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(15)} ${`${(size / 1024).toFixed(0)} KB`.padEnd(17)} ${times[Math.floor(RUNS / 2)]?.toFixed(0)} ms (${times[0]?.toFixed(0)}-${times.at(-1)?.toFixed(0)})`,
  );
}
console.log('\ngoal: under 500 KB and 150 ms each');

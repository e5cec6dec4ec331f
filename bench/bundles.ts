/**
 * Each Lambda bundle's size and its cold module-load time, built with the stack's own esbuild
 * options, externals and compiled-in config, beside the cold load of the SDK clients the function
 * loads at start (DynamoDB and Step Functions, from the runtime): each run is a new node process that
 * loads the clients, then the bundle, timing both in wall-clock and CPU time (a busy machine swings the
 * first far more than the second). Goal: every bundle under 500 KB minified and loading within 1.3x of
 * its clients alone. The load average is printed with the figures.
 *
 *   npm run bench:bundles
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { BUNDLING, WORKFLOW_BUNDLED_SDKS, defineConfig, externalModules } from '../lib/constructs/switchyard-function.js';
import { loadConfigWithSource } from '../src/config/load.js';

const { raw } = await loadConfigWithSource('examples/aws/switchyard.config.ts');
// Under node_modules so the external AWS SDK resolves as the Lambda runtime would provide it.
const out = join('node_modules', '.cache', 'switchyard-bundles');
mkdirSync(out, { recursive: true });
const RUNS = 11;
const GOAL_KB = 500;
const GOAL_RATIO = 1.3;

/** What each function loads at cold start besides its own code: the runtime's clients every function makes. */
const CLIENTS = ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-sfn'];
const clientsOnly = join(out, 'clients.mjs');
writeFileSync(clientsOnly, CLIENTS.map((m) => `import ${JSON.stringify(m)};`).join('\n'));

const FUNCTIONS: Record<string, readonly string[]> = { workflow: WORKFLOW_BUNDLED_SDKS, api: [], 'ecr-trigger': [] };

/**
 * One cold start in a new node process: the SDK clients alone, then the bundle (which finds them
 * loaded, as it imports them first anyway). Wall time and CPU time (user + system) of each, in ms:
 * on a busy machine the wall time swings with the scheduler, the CPU time much less.
 */
function coldLoad(file: string): { clients: { wall: number; cpu: number }; bundle: { wall: number; cpu: number } } {
  const script = `
    const measure = async (f) => { const c = process.cpuUsage(); const t = performance.now(); await import(f); const u = process.cpuUsage(c); return { wall: performance.now() - t, cpu: (u.user + u.system) / 1000 }; };
    const clients = await measure(${JSON.stringify(`./${clientsOnly}`)});
    const own = await measure(${JSON.stringify(`./${file}`)});
    console.log(JSON.stringify({ clients, bundle: { wall: clients.wall + own.wall, cpu: clients.cpu + own.cpu } }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      ...process.env,
      TABLE_NAME: 'switchyard',
      STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Switchyard-release',
      AWS_REGION: 'eu-west-1',
      NODE_NO_WARNINGS: '1',
    },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as ReturnType<typeof coldLoad>;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(', ')} on ${cpus().length} cores`,
);
console.log('bundle        size (minified)  cold load, wall (range)    clients alone  ratio   cold load, CPU  clients alone  ratio');
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
  const runs = Array.from({ length: RUNS }, () => coldLoad(outfile));
  const wall = median(runs.map((r) => r.bundle.wall));
  const clientsWall = median(runs.map((r) => r.clients.wall));
  const cpu = median(runs.map((r) => r.bundle.cpu));
  const clientsCpu = median(runs.map((r) => r.clients.cpu));
  const [ratio, cpuRatio] = [wall / clientsWall, cpu / clientsCpu];
  met &&= size / 1024 < GOAL_KB && ratio <= GOAL_RATIO;
  const walls = runs.map((r) => r.bundle.wall);
  console.log(
    [
      name.padEnd(13),
      `${(size / 1024).toFixed(0)} KB`.padEnd(16),
      `${wall.toFixed(0)} ms (${Math.min(...walls).toFixed(0)}-${Math.max(...walls).toFixed(0)})`.padEnd(26),
      `${clientsWall.toFixed(0)} ms`.padEnd(14),
      `${ratio.toFixed(2)}x`.padEnd(7),
      `${cpu.toFixed(0)} ms`.padEnd(15),
      `${clientsCpu.toFixed(0)} ms`.padEnd(14),
      `${cpuRatio.toFixed(2)}x`,
    ].join(' '),
  );
}
console.log(`\ngoal: under ${GOAL_KB} KB each, cold load (wall) within ${GOAL_RATIO}x of the SDK clients alone: ${met ? 'met' : 'NOT met'}`);

#!/usr/bin/env node
// The published package's build (npm runs it as `prepack`; `postpack` runs it with --clean):
//   dist/src, dist/bin   the sources compiled by tsc (tsconfig.build.json), with .d.ts files
//   dist/src/ui/         the dashboard's files, read at run time next to page.js
//   dist/demo.config.js  examples/local/switchyard.config.ts with the demo service's path made absolute,
//                        so `switchyard local --demo` works in any directory
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
if (process.argv.includes('--clean')) process.exit(0);

const started = Date.now();
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  console.error('build: tsc failed');
  process.exit(1);
}

// The dashboard's files (html, css, js), read at run time next to page.js.
mkdirSync(join(dist, 'src/ui'), { recursive: true });
for (const file of readdirSync(join(root, 'src/ui')).filter((f) => !f.endsWith('.ts'))) copyFileSync(join(root, 'src/ui', file), join(dist, 'src/ui', file));

const { tsImport } = await import('tsx/esm/api');
const example = 'examples/local/switchyard.config.ts';
const demo = (await tsImport(pathToFileURL(join(root, example)).href, import.meta.url)).default;
for (const service of demo.services) {
  const command = service.target?.command;
  if (Array.isArray(command) && command[0] === 'node' && command[1] === 'examples/demo-service/server.mjs') service.target.command = '@DEMO_SERVICE@';
}
const text = JSON.stringify(demo, null, 2).replaceAll(
  '"@DEMO_SERVICE@"',
  "[process.execPath, fileURLToPath(new URL('../examples/demo-service/server.mjs', import.meta.url))]",
);
if (!text.includes('process.execPath')) {
  console.error(`build: ${example} no longer runs examples/demo-service/server.mjs; update scripts/build.mjs`);
  process.exit(1);
}
writeFileSync(
  join(dist, 'demo.config.js'),
  `// Generated from ${example} by scripts/build.mjs: the config \`switchyard local --demo\` uses where there is none.\nimport { fileURLToPath } from 'node:url';\n\nexport default ${text};\n`,
);
console.error(`build: dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);

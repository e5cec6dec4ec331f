#!/usr/bin/env node
// The `switchyard` command. From the installed package it runs the compiled CLI (dist/); in a clone,
// where bin/switchyard.ts is, it registers tsx and runs the TypeScript sources. TypeScript config
// files load through tsx either way (src/config/load.ts).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (existsSync(join(here, 'switchyard.ts'))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./switchyard.ts');
} else {
  // `switchyard local --demo` in a directory without a config: the demo's own, shipped in the package.
  const demo = join(here, '../dist/demo.config.js');
  const [command, ...rest] = process.argv.slice(2);
  const namesConfig = rest.some((a) => a === '--config' || a.startsWith('--config='));
  if (command === 'local' && rest.includes('--demo') && !namesConfig && !existsSync('switchyard.config.ts') && existsSync(demo)) {
    process.argv.push('--config', demo);
  }
  await import('../dist/bin/switchyard.js');
}

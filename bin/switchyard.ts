#!/usr/bin/env -S npx tsx
// The `switchyard` command (run with tsx, which also loads TypeScript config files).
// The AWS SDK warns on every start that future versions need Node 22; Switchyard supports Node 20,
// so that one warning is dropped here to keep the terminal for release progress.
const emit = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : `${warning.name} ${warning.message}`;
  if (/NodeVersionSupportWarning|require node >=22/.test(text) || rest.some((r) => typeof r === 'string' && r === 'NodeVersionSupportWarning')) return;
  (emit as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

const { main } = await import('./cli.js');
await main(process.argv.slice(2));

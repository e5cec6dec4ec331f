/**
 * Where a V8 CPU profile spends its time: self time per function and per file, the top entries,
 * as percentages of the samples. Used on the proxy's profile (PROXY_PROFILE=<dir> npm run bench:proxy).
 *
 *   npx tsx bench/support/profile-summary.ts <file.cpuprofile> [top]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const [file, topText] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [top]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[] };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const counts = new Map<number, number>();
for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
// Shares of the busy time: samples of the idle loop (waiting for I/O) are left out.
const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
const total = profile.samples.filter((id) => !idle.has(id)).length;
const functions = new Map<string, number>();
const files = new Map<string, number>();
for (const [id, n] of counts) {
  if (idle.has(id)) continue;
  const frame = byId.get(id)?.callFrame;
  if (!frame) continue;
  const where = frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(src|bench)\//, '$1/') || '(native)';
  const key = `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
  functions.set(key, (functions.get(key) ?? 0) + n);
  const group = frame.url.startsWith('node:') ? frame.url : where.split(':')[0]!;
  files.set(group, (files.get(group) ?? 0) + n);
}
const top = Number(topText ?? 25);
const print = (title: string, m: Map<string, number>) => {
  console.log(title);
  for (const [k, n] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${((n / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
};
print(`self time by function (${total} busy samples)`, functions);
print('self time by file', files);

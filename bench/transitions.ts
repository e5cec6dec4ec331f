/**
 * State transitions and Step Functions cost per release, for each example strategy, measured by
 * running the real workflow definition on the local engine (virtual clock, in-memory driver).
 *
 *   npm run bench
 */
import { startHarness } from '../test/support/harness.js';

const PRICE_PER_1000 = 0.025;
const gates = {
  metrics: [{ name: 'error-rate', metric: 'ErrorRate', statistic: 'Average', comparison: 'GreaterThanThreshold', threshold: 5, period: '1m', minSamples: 10 }],
};

const cases: { name: string; service: Record<string, unknown>; approve?: boolean }[] = [
  {
    name: 'blue-green, bake 10m, approval before traffic',
    service: { strategy: { type: 'blue-green', bake: '10m' }, approvals: { at: ['before-traffic'] } },
    approve: true,
  },
  { name: 'canary 10% 5m, final bake 5m', service: { strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '5m' } } },
  {
    name: '5-step canary, 5m bakes, one approval',
    service: {
      strategy: { type: 'canary', steps: [5, 10, 25, 50, 75].map((percent) => ({ percent, bake: '5m' })), finalBake: '5m' },
      approvals: { at: ['after-first-step'] },
    },
    approve: true,
  },
  { name: 'linear 10% every 1m, final bake 5m', service: { strategy: { type: 'linear', stepPercent: 10, interval: '1m', finalBake: '5m' } } },
  {
    name: 'steps: 0%, analysis 2m, 50%, bake 5m, 100%',
    service: {
      strategy: {
        type: 'steps',
        steps: [
          { type: 'setWeight', percent: 0 },
          { type: 'analysis', duration: '2m' },
          { type: 'setWeight', percent: 50 },
          { type: 'bake', duration: '5m' },
          { type: 'setWeight', percent: 100 },
        ],
      },
    },
  },
];

const rows: string[][] = [];
for (const c of cases) {
  const h = await startHarness([{ name: 'bench', target: { driver: 'local', command: 'true', port: 9000 }, gates, ...c.service }]);
  const { release } = await h.releases.startRelease({ service: 'bench', image: 'bench:v2', actor: { id: 'bench', channel: 'api' } });
  if (c.approve) {
    await h.until(release.id, (r) => r.phase === 'awaiting_approval');
    await h.releases.act(release.id, 'approve', { id: 'approver', channel: 'api' });
  }
  const done = await h.finish(release.id);
  const transitions = h.engine.executionOf(release.id)?.transitions ?? NaN;
  rows.push([
    c.name,
    done.phase,
    String(transitions),
    `$${((transitions * PRICE_PER_1000) / 1000).toFixed(5)}`,
    `$${(transitions * PRICE_PER_1000).toFixed(2)}`,
  ]);
  await h.close();
}

const header = ['strategy', 'outcome', 'transitions', 'cost/release', 'cost/1000 releases'];
const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]?.length ?? 0)));
const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ');
console.log(line(header));
for (const r of rows) console.log(line(r));
console.log(`\nStep Functions Standard at $${PRICE_PER_1000} per 1,000 state transitions; gates checked every 60s (the default).`);

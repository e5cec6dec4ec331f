/**
 * State transitions and Step Functions cost per release, and store calls per release, for each
 * example strategy, measured by running the real workflow definition on the local engine (virtual
 * clock, in-memory driver, the DynamoDB store on dynalite).
 *
 *   npm run bench
 */
import type { Store } from '../src/ports/release-store.js';
import { startLocalDynamo } from '../src/adapters/dynamodb/dynalite.js';
import { startHarness } from '../test/support/harness.js';
import { awsTransitionRows } from './support/aws-transitions.js';

/** Counts calls to every store port method, by name. */
function counting(store: Store, counts: Map<string, number>): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        counts.set(property, (counts.get(property) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

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
    name: '3-step canary 10/25/50%, 5m bakes, final bake 5m',
    service: { strategy: { type: 'canary', steps: [10, 25, 50].map((percent) => ({ percent, bake: '5m' })), finalBake: '5m' } },
  },
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
  const dynamo = await startLocalDynamo();
  let requests = 0;
  // Every request the store sends to DynamoDB (dynalite here), as DynamoDB would bill it.
  dynamo.client.middlewareStack.add((next) => async (args) => (requests++, next(args)), { step: 'initialize', name: 'countRequests' });
  const counts = new Map<string, number>();
  const h = await startHarness([{ name: 'bench', target: { driver: 'local', command: 'true', port: 9000 }, gates, ...c.service }], {
    dynamo,
    wrapStore: (store) => counting(store, counts),
  });
  const { release } = await h.releases.startRelease({ service: 'bench', image: 'bench:v2', actor: { id: 'bench', channel: 'api' } });
  if (c.approve) {
    await h.until(release.id, (r) => r.phase === 'awaiting_approval');
    await h.releases.act(release.id, 'approve', { id: 'approver', channel: 'api' });
  }
  const done = await h.finish(release.id);
  const transitions = h.engine.executionOf(release.id)?.transitions ?? NaN;
  const calls = [...counts.values()].reduce((a, b) => a + b, 0);
  const locks = counts.get('acquireLock') ?? 0;
  rows.push([
    c.name,
    done.phase,
    String(transitions),
    `$${((transitions * PRICE_PER_1000) / 1000).toFixed(5)}`,
    `$${(transitions * PRICE_PER_1000).toFixed(2)}`,
    String(calls),
    String(locks),
    String(requests),
  ]);
  await h.close();
  await dynamo.close();
}

const header = ['strategy', 'outcome', 'transitions', 'cost/release', 'cost/1000 releases', 'store calls', 'lock calls', 'DynamoDB requests'];
const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]?.length ?? 0)));
const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ');
console.log(line(header));
for (const r of rows) console.log(line(r));
console.log(`\nStep Functions Standard at $${PRICE_PER_1000} per 1,000 state transitions; gates checked every 60s (the default).`);
console.log('Store calls: calls to the store ports per release; lock calls: acquireLock among them; DynamoDB requests: what the store sent.');

// The AWS drivers: the ecs driver's strategies, and the same plan on the codedeploy driver.
const awsRows = await awsTransitionRows(
  [
    {
      name: 'blue-green, bake 10m, approval before traffic',
      service: { strategy: { type: 'blue-green', bake: '10m' }, approvals: { at: ['before-traffic'] } },
      approve: true,
    },
    { name: 'canary 10% 5m, final bake 5m', service: { strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '5m' } } },
    { name: 'linear 20% every 2m, final bake 5m', service: { strategy: { type: 'linear', stepPercent: 20, interval: '2m', finalBake: '5m' } } },
    {
      name: 'linear 20% every 2m, approval after 20%',
      service: { strategy: { type: 'linear', stepPercent: 20, interval: '2m', finalBake: '5m' }, approvals: { at: ['after-first-step'] } },
      approve: true,
    },
    { name: 'rolling, batches of 25%, final bake 5m', service: { strategy: { type: 'rolling', batch: 25, finalBake: '5m' } } },
  ],
  PRICE_PER_1000,
);
const awsHeader = ['plan (alarm gate, checked every 60s)', 'ecs: transitions', 'ecs: cost/release', 'codedeploy: transitions', 'codedeploy: cost/release'];
const awsWidths = awsHeader.map((title, i) => Math.max(title.length, ...awsRows.map((r) => r[i]?.length ?? 0)));
console.log(`\n${awsHeader.map((t, i) => t.padEnd(awsWidths[i] ?? 0)).join('  ')}`);
for (const r of awsRows) console.log(r.map((cell, i) => cell.padEnd(awsWidths[i] ?? 0)).join('  '));
console.log('AWS drivers against their fakes (ECS and CodeDeploy each on their own clock): the workflow polls a target that moves on its own every 30s.');

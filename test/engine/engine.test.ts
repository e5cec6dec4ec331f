import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '../../src/adapters/dynamodb/dynalite.js';
import type { Release } from '../../src/core/release.js';
import { serviceConfig, startHarness, type Harness } from '../support/harness.js';
import { ActiveReleaseError, TransientError } from '../../src/core/errors.js';

const alice = { id: 'alice', channel: 'api', person: 'alice' } as const;
const bob = { id: 'bob', channel: 'api', person: 'bob' } as const;

let dynamo: LocalDynamo;
let h: Harness | undefined;
beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
afterAll(async () => {
  await dynamo.close();
});
afterEach(async () => {
  await h?.close();
  h = undefined;
});

let counter = 0;
/** Each test gets its own service names so tests sharing one dynalite never see each other. */
async function harness(services: Record<string, unknown>[]): Promise<Harness> {
  counter++;
  h = await startHarness(
    services.map((s) => ({ ...s, name: `${String(s['name'])}-${counter}` })),
    { dynamo, config: { people: [{ name: 'alice' }, { name: 'bob' }] } },
  );
  return h;
}
const svc = (h: Harness, i = 0) => h.services[i]?.name ?? '';
const types = (r: Release) => r.timeline.map((e) => e.type);

describe('engine: happy path of every strategy', () => {
  it.each([
    ['blue-green', { type: 'blue-green', bake: '2m' }, [100]],
    [
      'canary',
      {
        type: 'canary',
        steps: [
          { percent: 10, bake: '5m' },
          { percent: 50, bake: '5m' },
        ],
        finalBake: '5m',
      },
      [10, 50, 100],
    ],
    ['linear', { type: 'linear', stepPercent: 25, interval: '1m', finalBake: '1m' }, [25, 50, 75, 100]],
    [
      'steps',
      {
        type: 'steps',
        steps: [
          { type: 'setWeight', percent: 5 },
          { type: 'analysis', duration: '2m' },
          { type: 'setWeight', percent: 100 },
          { type: 'bake', duration: '1m' },
        ],
      },
      [5, 100],
    ],
  ])('%s ends succeeded with the new version stable and 100%% shifted through each step', async (_name, strategy, weights) => {
    const h = await harness([serviceConfig('api', { strategy })]);
    const { release } = await h.releases.startRelease({ service: svc(h), image: 'api:v2', actor: alice });
    const done = await h.finish(release.id);
    expect(done.phase).toBe('succeeded');
    expect(done.weight).toBe(100);
    expect(h.driver.calls.filter((c) => c.method === 'setWeight').map((c) => c.percent)).toEqual(weights);
    expect(h.driver.state(svc(h))).toEqual({ stable: 'api:v2', weight: 0 });
    expect(await h.store.getStable(svc(h))).toBe('api:v2');
    expect(types(done)).toEqual(expect.arrayContaining(['created', 'deployed', 'shifted', 'finalizing', 'succeeded']));
    expect(h.engine.executionOf(release.id)?.status).toBe('succeeded');
    // The lock is free again: the next release starts at once.
    expect(await h.store.lockOwner(svc(h), h.clock.now())).toBeUndefined();
  });
});

describe('engine: gates', () => {
  it.each([10, 50, 100])('a gate failing at the %d%% step rolls back with traffic restored', async (failAt) => {
    const h = await harness([
      serviceConfig('api', {
        strategy: {
          type: 'canary',
          steps: [
            { percent: 10, bake: '5m' },
            { percent: 50, bake: '5m' },
          ],
          finalBake: '5m',
        },
      }),
    ]);
    const { release } = await h.releases.startRelease({ service: svc(h), image: 'api:v3-faulty', actor: alice });
    await h.until(release.id, (r) => r.weight === failAt && r.phase === 'baking');
    h.metrics.errorRate.set('api:v3-faulty', 31.5);
    const done = await h.finish(release.id);
    expect(done.phase).toBe('rolled_back');
    expect(done.weight).toBe(0);
    expect(done.reason).toBe('gate failed: error-rate: Average of ErrorRate = 31.5 (breaches > 5) over 60s, 1000 samples');
    expect(done.gateResults.find((g) => g.gate === 'error-rate')).toMatchObject({
      gate: 'error-rate',
      verdict: 'fail',
      evidence: { value: 31.5, threshold: 5 },
    });
    expect(h.driver.state(svc(h))).toEqual({ stable: 'v0', weight: 0 });
    expect(h.driver.calls.some((c) => c.method === 'finalize')).toBe(false);
    expect(h.engine.executionOf(release.id)?.status).toBe('failed');
  });

  it('a version that never gets ready fails with the probe error and nothing shifted', async () => {
    const h = await harness([serviceConfig('api')]);
    h.driver.broken.add('api:v4-broken');
    const { release } = await h.releases.startRelease({ service: svc(h), image: 'api:v4-broken', actor: alice });
    const done = await h.finish(release.id);
    expect(done.phase).toBe('failed');
    expect(done.reason).toBe('the new version could not be deployed: readiness probe GET /ready never succeeded within 5s: connection refused');
    expect(h.driver.calls.filter((c) => c.method === 'setWeight')).toEqual([]);
  });
});

describe('engine: approvals', () => {
  const withApproval = (timeout = '10m') => serviceConfig('api', { approvals: { at: ['after-first-step'], timeout, approvers: ['bob'] } });

  it('approved: the release continues and the timeline names the approver', async () => {
    const h = await harness([withApproval()]);
    const { release } = await h.releases.startRelease({ service: svc(h), image: 'api:v2', actor: alice });
    const waiting = await h.until(release.id, (r) => r.phase === 'awaiting_approval');
    expect(waiting.weight).toBe(10);
    expect(waiting.pendingApproval).toMatchObject({ label: 'after-first-step' });
    await expect(h.releases.act(release.id, 'approve', alice)).rejects.toThrow('alice is not an approver');
    await h.releases.act(release.id, 'approve', bob, 'looks good');
    const done = await h.finish(release.id);
    expect(done.phase).toBe('succeeded');
    expect(done.timeline.find((e) => e.type === 'approved')).toMatchObject({ actor: bob, comment: 'looks good', message: 'approved by bob' });
    // A second click changes nothing.
    await expect(h.releases.act(release.id, 'approve', bob)).rejects.toThrow(/no approval is waiting/);
  });

  it('rejected: rolled back', async () => {
    const h = await harness([withApproval()]);
    const { release } = await h.releases.startRelease({ service: svc(h), image: 'api:v2', actor: alice });
    await h.until(release.id, (r) => r.phase === 'awaiting_approval');
    await h.releases.act(release.id, 'reject', bob);
    const done = await h.finish(release.id);
    expect(done.phase).toBe('rolled_back');
    expect(done.reason).toBe('rejected by bob');
    expect(h.driver.state(svc(h)).weight).toBe(0);
  });

  it('timed out: the timeout action (roll back) applies', async () => {
    const h = await harness([withApproval('1s')]);
    const { release } = await h.releases.startRelease({ service: svc(h), image: 'api:v2', actor: alice });
    const done = await h.finish(release.id);
    expect(done.phase).toBe('rolled_back');
    expect(done.reason).toBe('approval expired; timeout action: rollback');
    expect(done.approvals).toEqual([expect.objectContaining({ decision: 'expired', label: 'after-first-step' })]);
  });
});

describe('engine: promote and rollback requested in every phase', () => {
  const phases = ['deploying', 'shifting', 'baking', 'awaiting_approval'] as const;

  it.each(phases)('rollback while %s is applied and ends with 0%%', async (phase) => {
    const h = await harness([serviceConfig('api', { approvals: { at: ['after-first-step'] } })]);
    const { release } = await h.releases.startRelease({ service: svc(h), image: 'api:v2', actor: alice });
    // Hold the release in the phase by waiting for it in the store (the virtual clock makes bakes instant).
    h.driver.failures.push({
      method: phase === 'deploying' ? 'deploy' : 'verify',
      error: () => new TransientError('slow'),
      times: phase === 'deploying' || phase === 'shifting' ? 2 : 0,
    });
    await h.until(release.id, (r) => r.phase === phase || (phase === 'baking' && r.phase === 'awaiting_approval'));
    const requested = await h.releases.act(release.id, 'rollback', bob, 'customer reports');
    expect(requested.requests.rollback?.actor).toEqual(bob);
    const done = await h.finish(release.id);
    expect(['rolled_back', 'cancelled']).toContain(done.phase);
    expect(done.weight).toBe(0);
    expect(h.driver.state(svc(h)).weight).toBe(0);
    expect(done.timeline.find((e) => e.type === 'rollback_requested')).toMatchObject({ actor: bob, comment: 'customer reports' });
  });

  it('promote while awaiting approval skips to 100% and finalize', async () => {
    const h = await harness([serviceConfig('api', { approvals: { at: ['after-first-step'] } })]);
    const { release } = await h.releases.startRelease({ service: svc(h), image: 'api:v2', actor: alice });
    await h.until(release.id, (r) => r.phase === 'awaiting_approval');
    await h.releases.act(release.id, 'promote', bob);
    const done = await h.finish(release.id);
    expect(done.phase).toBe('succeeded');
    expect(h.driver.calls.filter((c) => c.method === 'setWeight').map((c) => c.percent)).toEqual([10, 100]);
  });

  it('a queued release: promote is refused (409 reason), rollback cancels it and it never starts', async () => {
    const h = await harness([serviceConfig('api', { approvals: { at: ['after-first-step'] } })]);
    const first = await h.releases.startRelease({ service: svc(h), image: 'api:v2', actor: alice });
    await h.until(first.release.id, (r) => r.phase === 'awaiting_approval');
    const { release: queued } = await h.releases.startRelease({ service: svc(h), image: 'api:v3', actor: alice });
    await expect(h.releases.act(queued.id, 'promote', bob)).rejects.toThrow(
      `release ${queued.id} is queued; promote applies only while a release is deploying, shifting, baking or awaiting approval`,
    );
    const cancelled = await h.releases.act(queued.id, 'rollback', bob);
    expect(cancelled.phase).toBe('cancelled');
    await h.releases.act(first.release.id, 'approve', bob);
    await h.finish(first.release.id);
    expect(await h.store.peekQueue(svc(h))).toBeUndefined();
    expect(h.driver.calls.some((c) => c.releaseId === queued.id)).toBe(false);
  });

  it('promote while baking skips the remaining steps', async () => {
    const h = await harness([
      serviceConfig('api', {
        strategy: {
          type: 'canary',
          steps: [
            { percent: 10, bake: '5m' },
            { percent: 50, bake: '5m' },
          ],
          finalBake: '5m',
        },
      }),
    ]);
    // Hold the workflow at its first decision during the bake, so the request lands mid-bake.
    let resume: () => void = () => undefined;
    const gate = new Promise<void>((r) => (resume = r));
    const original = h.handlers.run;
    let held = false;
    h.handlers.run = async (input) => {
      if (input.task === 'decide' && !held && (await h.store.get(input.releaseId))?.phase === 'baking') {
        held = true;
        await gate;
      }
      return original(input);
    };
    const { release } = await h.releases.startRelease({ service: svc(h), image: 'api:v2', actor: alice });
    await h.until(release.id, () => held);
    expect((await h.releases.act(release.id, 'promote', bob)).requests.promote?.actor).toEqual(bob);
    resume();
    const done = await h.finish(release.id);
    expect(done.phase).toBe('succeeded');
    expect(h.driver.calls.filter((c) => c.method === 'setWeight').map((c) => c.percent)).toEqual([10, 100]);
  });

  it('promote and rollback on a finished release are refused and change nothing', async () => {
    const h = await harness([serviceConfig('api')]);
    const { release } = await h.releases.startRelease({ service: svc(h), image: 'api:v2', actor: alice });
    const done = await h.finish(release.id);
    await expect(h.releases.act(release.id, 'rollback', bob)).rejects.toThrow(`release ${release.id} is succeeded; only an active release can be rolled back`);
    await expect(h.releases.act(release.id, 'promote', bob)).rejects.toThrow(/promote applies only while/);
    expect(await h.store.get(release.id)).toEqual(done);
  });
});

describe('engine: unexpected errors at every task state', () => {
  it.each(['deploy', 'setWeight', 'verify', 'finalize'] as const)(
    'a driver that throws in %s ends rolled_back or failed with the stable version serving',
    async (method) => {
      const h = await harness([serviceConfig('api')]);
      h.driver.failures.push({ method, error: () => new Error(`boom in ${method}`) });
      const { release } = await h.releases.startRelease({ service: svc(h), image: 'api:v2', actor: alice });
      const done = await h.finish(release.id);
      expect(['rolled_back', 'failed']).toContain(done.phase);
      expect(done.reason).toMatch(new RegExp(`^unexpected error in (Deploy|Shift|Finalize): boom in ${method}`));
      expect(h.driver.state(svc(h))).toMatchObject({ stable: 'v0', weight: 0 });
      expect(await h.store.lockOwner(svc(h), h.clock.now())).toBeUndefined();
    },
  );

  it.each(['decide', 'requestApproval', 'approvalTimedOut', 'rollback'] as const)(
    'a handler that throws in %s ends rolled_back or failed with the reason recorded',
    async (task) => {
      const h = await harness([serviceConfig('api', { approvals: { at: ['after-first-step'], timeout: '1s' } })]);
      const original = h.handlers.run;
      let calls = 0;
      // Fail the task on its first call after the release has traffic (decide: its 4th call).
      h.handlers.run = async (input) => {
        if (input.task === task && (task !== 'decide' || ++calls === 4)) throw new Error(`${task} exploded`);
        return original(input);
      };
      if (task === 'rollback') h.metrics.errorRate.set('api:v2', 50);
      const { release } = await h.releases.startRelease({ service: svc(h), image: 'api:v2', actor: alice });
      const done = await h.finish(release.id);
      expect(['rolled_back', 'failed']).toContain(done.phase);
      expect(done.weight).toBe(0);
      expect(done.timeline.map((e) => e.message).join('\n')).toContain(`${task} exploded`);
      expect(h.driver.state(svc(h)).weight).toBe(0);
    },
  );

  it('transient errors are retried and the release succeeds', async () => {
    const h = await harness([serviceConfig('api')]);
    h.driver.failures.push({ method: 'setWeight', error: () => new TransientError('Rate exceeded'), times: 2 });
    const { release } = await h.releases.startRelease({ service: svc(h), image: 'api:v2', actor: alice });
    const done = await h.finish(release.id);
    expect(done.phase).toBe('succeeded');
    expect(h.driver.calls.filter((c) => c.method === 'setWeight')).toHaveLength(4);
  });
});

describe('engine: concurrency', () => {
  it('several services release at once, isolated', async () => {
    const h = await harness([serviceConfig('a', {}, 9001), serviceConfig('b', {}, 9002), serviceConfig('c', {}, 9003)]);
    h.metrics.errorRate.set('b:v2', 40);
    const started = await Promise.all(
      ['a', 'b', 'c'].map((_, i) => h.releases.startRelease({ service: svc(h, i), image: `${['a', 'b', 'c'][i]}:v2`, actor: alice })),
    );
    const done = await Promise.all(started.map((s) => h.finish(s.release.id)));
    expect(done.map((r) => r.phase)).toEqual(['succeeded', 'rolled_back', 'succeeded']);
    expect(h.driver.state(svc(h, 0)).stable).toBe('a:v2');
    expect(h.driver.state(svc(h, 1)).stable).toBe('v0');
  });

  it('a second release of the same service is queued, starts when the first ends, and a third supersedes it', async () => {
    const h = await harness([serviceConfig('api', { approvals: { at: ['after-first-step'] } })]);
    const first = await h.releases.startRelease({ service: svc(h), image: 'api:v2', actor: alice });
    await h.until(first.release.id, (r) => r.phase === 'awaiting_approval');
    const second = await h.releases.startRelease({ service: svc(h), image: 'api:v3', actor: alice });
    expect(second.release.phase).toBe('queued');
    const third = await h.releases.startRelease({ service: svc(h), image: 'api:v4', actor: alice });
    expect(third.release.phase).toBe('queued');
    expect((await h.store.get(second.release.id))?.phase).toBe('superseded');
    await h.releases.act(first.release.id, 'approve', bob);
    await h.finish(first.release.id);
    await h.until(third.release.id, (r) => r.phase === 'awaiting_approval');
    await h.releases.act(third.release.id, 'approve', bob);
    expect((await h.finish(third.release.id)).phase).toBe('succeeded');
    expect(h.driver.state(svc(h)).stable).toBe('api:v4');
    expect(h.driver.calls.some((c) => c.releaseId === second.release.id)).toBe(false);
  });

  it('with the reject policy a second release is refused and nothing is created', async () => {
    const h = await harness([serviceConfig('api', { onActiveRelease: 'reject', approvals: { at: ['after-first-step'] } })]);
    const first = await h.releases.startRelease({ service: svc(h), image: 'api:v2', actor: alice });
    await expect(h.releases.startRelease({ service: svc(h), image: 'api:v3', actor: alice, idempotencyKey: 'k1' })).rejects.toThrow(ActiveReleaseError);
    await expect(h.releases.startRelease({ service: svc(h), image: 'api:v3', actor: alice })).rejects.toThrow(
      `service ${svc(h)} already has active release ${first.release.id}, and its onActiveRelease policy is "reject"`,
    );
    const page = await h.store.list({ service: svc(h), limit: 10 });
    expect(page.releases.map((r) => r.id)).toEqual([first.release.id]);
  });

  it('duplicate starts with one idempotency key create one release', async () => {
    const h = await harness([serviceConfig('api')]);
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        h.releases.startRelease({ service: svc(h), image: 'api@sha256:' + 'a'.repeat(64), actor: alice, idempotencyKey: 'digest-a' }),
      ),
    );
    expect(new Set(results.map((r) => r.release.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('after a restart, releases left mid-flight are marked interrupted and their target restored', async () => {
    // Its own store: recovery looks at every unfinished release in it.
    h = await startHarness([serviceConfig('api', { approvals: { at: ['after-first-step'] } })]);
    const { release } = await h.releases.startRelease({ service: svc(h), image: 'api:v2', actor: alice });
    await h.until(release.id, (r) => r.phase === 'awaiting_approval');
    await h.engine.stop(); // the process dies
    expect(h.driver.state(svc(h)).weight).toBe(10);
    const [recovered] = await h.releases.recoverInterrupted();
    expect(recovered).toMatchObject({ id: release.id, phase: 'rolled_back', weight: 0 });
    expect(recovered?.reason).toContain('interrupted');
    expect(h.driver.state(svc(h)).weight).toBe(0);
    expect(await h.store.lockOwner(svc(h), h.clock.now())).toBeUndefined();
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '../../src/adapters/dynamodb/dynalite.js';
import { envWebhookSecrets, withWebhookGates } from '../../src/composition/webhooks.js';
import { serviceConfig, startHarness, type Harness } from '../support/harness.js';
import { startReceiver, type ReceiverMode } from '../support/webhook-receiver.js';

/*
 * End to end on the real workflow definition and the local engine: the engine calls a stand-in
 * receiver over HTTP through the same wiring local mode uses, and the receiver's verdict decides.
 */

const SECRET = 'e2e-shared-secret';
const actor = { id: 'alice', channel: 'api' } as const;

let dynamo: LocalDynamo;
let h: Harness | undefined;
let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
afterAll(async () => {
  await dynamo.close();
});
afterEach(async () => {
  await h?.close();
  await receiver?.close();
  h = undefined;
  receiver = undefined;
});

let counter = 0;
async function harness(when: 'before-traffic' | 'bake', mode: ReceiverMode, gates: Record<string, unknown> = {}) {
  counter++;
  receiver = await startReceiver(SECRET, mode);
  const service = serviceConfig(`hooked-${counter}`, {
    gates: {
      metrics: [],
      checkInterval: '30s',
      webhooks: [{ name: 'smoke', url: receiver.url, secretEnv: 'SMOKE_SECRET', timeout: '5s', when }],
      ...gates,
    },
  });
  h = await startHarness([service], {
    dynamo,
    wrapMetrics: (metrics, svc) =>
      withWebhookGates(svc, metrics, { secretOf: envWebhookSecrets({ SMOKE_SECRET: SECRET }), environment: 'test', testUrl: () => 'http://127.0.0.1:9001/' }),
  });
  return { h, receiver, name: h.services[0]?.name ?? '' };
}

const shifts = (h: Harness) => h.driver.calls.filter((c) => c.method === 'setWeight').map((c) => c.percent);

describe('webhook gates, end to end', () => {
  it('a before-traffic webhook that fails rolls the release back before any production traffic moves', async () => {
    const { h, receiver, name } = await harness('before-traffic', 'fail');
    expect(h.services[0]?.plan.steps[0]).toEqual({ type: 'analysis', seconds: 1, gates: ['smoke'] });
    const { release } = await h.releases.startRelease({ service: name, image: 'api:v2', actor });
    const done = await h.finish(release.id);
    expect(done.phase).toBe('rolled_back');
    expect(done.reason).toContain('webhook smoke answered fail');
    expect(done.reason).toContain('smoke test said fail');
    expect(shifts(h)).toEqual([]);
    expect(h.driver.calls.map((c) => c.method)).toContain('rollback');
    // It was called against the new version, deployed and on the test route only, with a valid signature.
    expect(receiver.calls.length).toBe(1);
    expect(receiver.calls[0]?.verified).toBe(true);
    expect(JSON.parse(receiver.calls[0]?.body ?? '')).toMatchObject({
      when: 'before-traffic',
      release: { id: release.id, service: name, image: 'api:v2' },
      step: { index: 0, type: 'analysis' },
      weights: { new: 0, stable: 100 },
      testUrl: 'http://127.0.0.1:9001/',
    });
  });

  it('a before-traffic webhook that passes is asked once, then the plan runs and the bakes do not call it again', async () => {
    const { h, receiver, name } = await harness('before-traffic', 'pass');
    const { release } = await h.releases.startRelease({ service: name, image: 'api:v2', actor });
    const done = await h.finish(release.id);
    expect(done.phase).toBe('succeeded');
    expect(shifts(h)).toEqual([10, 100]);
    expect(receiver.calls.length).toBe(1);
  });

  it('a bake webhook that fails mid-canary rolls back with its verdict in the reason', async () => {
    const { h, receiver, name } = await harness('bake', 'pass');
    const { release } = await h.releases.startRelease({ service: name, image: 'api:v2', actor });
    // Passing at 10%, then the check turns: the next look rolls back.
    await h.until(release.id, (r) => r.weight === 10 && receiver.calls.length >= 2);
    receiver.mode = 'fail';
    const done = await h.finish(release.id);
    expect(done.phase).toBe('rolled_back');
    expect(done.reason).toMatch(/gate.*webhook smoke answered fail/);
    expect(shifts(h)).toEqual([10]);
    const bodies = receiver.calls.map((c) => JSON.parse(c.body) as { step: { type: string }; weights: { new: number } });
    expect(bodies.every((b) => b.step.type === 'bake' && b.weights.new === 10)).toBe(true);
    expect(receiver.calls.every((c) => c.verified)).toBe(true);
  });

  it('a receiver that answers garbage is an error of the gate: counted against maxErrors, then onInconclusive decides', async () => {
    const { h, receiver, name } = await harness('bake', 'garbage', { maxErrors: 1, onInconclusive: 'fail' });
    const { release } = await h.releases.startRelease({ service: name, image: 'api:v2', actor });
    const done = await h.finish(release.id);
    expect(done.phase).toBe('rolled_back');
    expect(done.reason).toMatch(/not JSON/);
    // One error is tolerated (maxErrors 1), the second ends it.
    expect(receiver.calls.length).toBe(2);
    expect(shifts(h)).toEqual([10]);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { WebhookGates } from '../../../src/adapters/webhook/webhook-gates.js';
import { assessGate, type GateSpec, type Observation, type WebhookGate } from '../../../src/core/gates.js';
import { markDeployed } from '../../../src/core/transitions.js';
import { release, T0, errorRateGate } from '../../support/releases.js';
import { startReceiver, type ReceiverMode } from '../../support/webhook-receiver.js';

const SECRET = 'test-shared-secret';
const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function setUp(mode: ReceiverMode, gateOverrides: Partial<WebhookGate> = {}, options: Partial<ConstructorParameters<typeof WebhookGates>[0]> = {}) {
  const receiver = await startReceiver(SECRET, mode);
  receivers.push(receiver);
  const gate: WebhookGate = {
    kind: 'webhook',
    name: 'smoke',
    url: receiver.url,
    secret: { env: 'SMOKE' },
    timeoutSeconds: 5,
    when: 'before-traffic',
    ...gateOverrides,
  };
  const inner = {
    observe: async (_r: unknown, gates: readonly GateSpec[]): Promise<Observation[]> => gates.map((g) => ({ gate: g.name, kind: 'metric', datapoints: [] })),
  };
  const hooks = new WebhookGates({ inner, secretOf: async () => SECRET, environment: 'staging', testUrl: () => 'http://127.0.0.1:8081/', ...options });
  const r = markDeployed(release({ type: 'blue-green', bakeSeconds: 60 }, { settings: { gates: [gate, errorRateGate] } }), T0);
  return { receiver, gate, hooks, r };
}

describe('webhook gates against a stand-in receiver', () => {
  it.each([
    ['pass', 'pass'],
    ['fail', 'fail'],
    ['inconclusive', 'inconclusive'],
  ] as const)('a receiver that answers %s gives the gate that verdict, with its summary', async (mode, verdict) => {
    const { hooks, gate, r } = await setUp(mode);
    const [observation] = await hooks.observe(r, [gate], T0);
    expect(observation).toMatchObject({ gate: 'smoke', kind: 'webhook', verdict, status: 200, summary: `smoke test said ${mode}` });
    const result = assessGate(gate, observation, T0);
    expect(result.verdict).toBe(verdict);
    expect(result.summary).toContain(`webhook smoke answered ${verdict} (HTTP 200`);
    expect(result.summary).toContain(`smoke test said ${mode}`);
  });

  it('signs each request as documented: the receiver recomputes the HMAC of "<timestamp>.<body>" and it matches', async () => {
    const { hooks, gate, r, receiver } = await setUp('pass');
    await hooks.observe(r, [gate], T0 + 1500);
    const [call] = receiver.calls;
    expect(call?.verified).toBe(true);
    expect(call?.headers['x-switchyard-timestamp']).toBe(String(Math.floor((T0 + 1500) / 1000)));
    expect(call?.headers['x-switchyard-gate']).toBe('smoke');
    expect(call?.headers['content-type']).toBe('application/json');
    // The release's context, with the test route where the new version alone answers.
    expect(JSON.parse(call?.body ?? '')).toEqual({
      version: 1,
      gate: 'smoke',
      when: 'before-traffic',
      environment: 'staging',
      release: { id: r.id, service: r.service, image: r.artifact.image },
      step: { index: 0, type: 'setWeight', count: r.plan.steps.length },
      weights: { new: 0, stable: 100 },
      testUrl: 'http://127.0.0.1:8081/',
      at: new Date(T0 + 1500).toISOString(),
    });
  });

  it('a request signed with another secret is refused by the receiver, which the gate reports as an error, never a pass', async () => {
    const { hooks, gate, r, receiver } = await setUp('pass', {}, { secretOf: async () => 'not-the-secret' });
    const [observation] = await hooks.observe(r, [gate], T0);
    expect(receiver.calls[0]?.verified).toBe(false);
    expect(observation).toMatchObject({ kind: 'error' });
    expect((observation as { message: string }).message).toMatch(/HTTP 401/);
    expect(assessGate(gate, observation, T0).verdict).toBe('error');
  });

  it.each([
    ['garbage', /not JSON: "<html> oops<\/html>"/],
    ['no-verdict', /without a verdict .*got "ok"/],
    ['http-500', /answered HTTP 500 .*the smoke runner crashed/],
    ['redirect', /answered HTTP 302/],
  ] as const)('a receiver that answers %s gives an error, counted like any gate error', async (mode, message) => {
    const { hooks, gate, r } = await setUp(mode);
    const [observation] = await hooks.observe(r, [gate], T0);
    expect(observation?.kind).toBe('error');
    expect((observation as { message: string }).message).toMatch(message);
    expect(assessGate(gate, observation, T0).verdict).toBe('error');
  });

  it('a receiver that hangs is given up at the deadline: an error naming the timeout, without the URL query', async () => {
    const deadline = new AbortController();
    const { hooks, gate, r, receiver } = await setUp('hang', {}, { deadline: () => deadline.signal });
    const observed = hooks.observe(r, [gate], T0);
    // The deadline passes once the receiver holds the request (no race with the wall clock).
    await receiver.called(1);
    deadline.abort(new DOMException('timed out', 'TimeoutError'));
    const [observation] = await observed;
    expect(observation).toEqual({ gate: 'smoke', kind: 'error', message: `webhook ${receiver.url.split('?')[0]} did not answer within 5s` });
  });

  it('the gate timeout ends a hanging call by itself (1s)', async () => {
    const { hooks, gate, r } = await setUp('hang', { timeoutSeconds: 1 });
    const [observation] = await hooks.observe(r, [gate], T0);
    expect(observation).toMatchObject({ kind: 'error', message: expect.stringMatching(/did not answer within 1s$/) });
  });

  it('nothing listening, or a secret that cannot be read, is an error of the gate, and the other gates are still read', async () => {
    const closed = await startReceiver(SECRET);
    await closed.close();
    const url = `${closed.url.split('/hooks')[0]}/hook`;
    const { hooks, gate, r } = await setUp('pass', { url });
    const observations = await hooks.observe(r, [gate, errorRateGate], T0);
    expect(observations).toEqual([
      { gate: 'error-rate', kind: 'metric', datapoints: [] },
      { gate: 'smoke', kind: 'error', message: `webhook ${url} could not be called: ECONNREFUSED` },
    ]);
    const noSecret = new WebhookGates({
      inner: { observe: async () => [] },
      secretOf: async () => {
        throw new Error('environment variable SMOKE is not set');
      },
      environment: 'staging',
    });
    expect(await noSecret.observe(r, [gate], T0)).toEqual([
      { gate: 'smoke', kind: 'error', message: "the webhook's secret could not be read: environment variable SMOKE is not set" },
    ]);
  });
});

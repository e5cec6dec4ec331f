import { SendTaskSuccessCommand as SendTaskSuccess } from '@aws-sdk/client-sfn';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '../../src/adapters/dynamodb/dynalite.js';
import { resolveConfig } from '../../src/config/config.js';
import type { HumanDecision } from '../../src/core/approvals.js';
import type { Release } from '../../src/core/release.js';
import type { Releases } from '../../src/ports/release-store.js';
import type { ReleaseService } from '../../src/engine/releases.js';
import { awsRuntimeOnFake, type FakeStepFunctions } from '../support/fake-stepfunctions.js';
import { serviceConfig, startHarness } from '../support/harness.js';
import type { MemoryDriver } from '../support/memory-driver.js';
import { releaseUntil } from '../support/poll.js';

/**
 * A person's rollback or promote acts at once, whatever the gate check interval: the workflow waits
 * on a callback the API completes, not on a timer. With a 60 s check interval and a 10-minute bake,
 * a steer that waited for the next check would take up to a minute; these releases must end long
 * before that (the figure itself is measured by `npm run bench:steering`).
 */
const bakingService = (name: string) =>
  serviceConfig(name, {
    strategy: { type: 'canary', steps: [{ percent: 10, bake: '10m' }], finalBake: '10m' },
    gates: { metrics: [], checkInterval: '60s' },
  });
const bob = { id: 'bob', channel: 'api' } as const;
/** Far below the 60 s interval: only a woken wait can meet it. */
const WELL_BEFORE_THE_NEXT_CHECK_MS = 20_000;

let dynamo: LocalDynamo;
const closers: (() => Promise<void>)[] = [];
beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
afterAll(async () => dynamo.close());
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

interface Path {
  readonly releases: ReleaseService;
  readonly store: Releases;
  readonly driver: MemoryDriver;
  readonly service: string;
}

let n = 0;
async function localEngine(): Promise<Path> {
  const h = await startHarness([bakingService(`steer-${++n}`)], { dynamo, realTime: true });
  closers.push(() => h.close());
  return { releases: h.releases, store: h.store, driver: h.driver, service: h.services[0]!.name };
}

/** The AWS wiring: the Step Functions adapter completes the wait's token through SendTaskSuccess. */
async function stepFunctions(): Promise<Path & { sfn: FakeStepFunctions }> {
  const service = `steer-${++n}`;
  const config = resolveConfig({ services: [bakingService(service)] });
  const { runtime, driver, sfn, close } = awsRuntimeOnFake({ config, dynamo });
  closers.push(close);
  return { releases: runtime.releases, store: runtime.store, driver, service, sfn };
}

async function steerMidBake(path: Path, decision: HumanDecision): Promise<{ done: Release; ms: number }> {
  const { release } = await path.releases.startRelease({ service: path.service, image: 'api:v2', actor: { id: 'ci', channel: 'api' } });
  // Baking at 10%, with its wait registered: the workflow sleeps until the next check, a minute away.
  await releaseUntil(path.store, release.id, (r) => r.phase === 'baking' && r.weight === 10 && r.wake !== undefined && 'token' in r.wake, {
    timeoutMs: 30_000,
  });
  const asked = Date.now();
  await path.releases.act(release.id, decision, bob);
  const done = await releaseUntil(path.store, release.id, (r) => r.phase === 'rolled_back' || r.phase === 'succeeded', {
    timeoutMs: WELL_BEFORE_THE_NEXT_CHECK_MS,
  });
  return { done, ms: Date.now() - asked };
}

describe.each([
  ['the local engine', localEngine],
  ['Step Functions (SendTaskSuccess through the SDK)', stepFunctions],
])('steering acts at once on %s', (_name, make) => {
  it('a rollback mid-bake with a 60 s check interval moves traffic to 0% before the next check', async () => {
    const path = await make();
    const { done } = await steerMidBake(path, 'rollback');
    expect(done.phase).toBe('rolled_back');
    expect(path.driver.state(path.service).weight).toBe(0);
    expect(done.timeline.find((e) => e.type === 'rollback_requested')?.actor).toEqual(bob);
  }, 90_000);

  it('a promote mid-bake skips the remaining bakes and finalizes before the next check', async () => {
    const path = await make();
    const { done } = await steerMidBake(path, 'promote');
    expect(done.phase).toBe('succeeded');
    expect(done.weight).toBe(100);
    expect(path.driver.state(path.service).stable).toBe('api:v2');
  }, 90_000);
});

it('on Step Functions the wake is a SendTaskSuccess with the token the waiting task registered', async () => {
  const path = await stepFunctions();
  await steerMidBake(path, 'rollback');
  const sent = path.sfn.sfn.commandCalls(SendTaskSuccess).map((c) => c.args[0].input);
  expect(sent.some((input) => JSON.parse(input.output ?? '{}').woken === true && input.taskToken?.includes('/wait-'))).toBe(true);
}, 90_000);

it('on Step Functions a token whose wait has ended is refused (TaskTimedOut), as AWS refuses it, and the adapter lets it pass', async () => {
  const { runtime, sfn, engine, close } = awsRuntimeOnFake({ config: resolveConfig({ services: [bakingService(`steer-${++n}`)] }), dynamo });
  closers.push(close);
  const { release } = await runtime.releases.startRelease({ service: `steer-${n}`, image: 'api:v2', actor: { id: 'ci', channel: 'api' } });
  const baking = await releaseUntil(runtime.store, release.id, (r) => r.phase === 'baking' && r.wake !== undefined && 'token' in r.wake, { timeoutMs: 30_000 });
  const token = (baking.wake as { token: string }).token;
  await engine.sendTaskSuccess(token, { woken: true }); // the wait ends (as its timeout would end it)
  await expect(runtime.deps.workflow.sendTaskSuccess(token, { woken: true })).resolves.toBeUndefined();
  expect(sfn.refusedTokens).toEqual([token]);
  expect(engine.isClosed(token)).toBe(true);
}, 90_000);

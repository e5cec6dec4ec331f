import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '../../src/adapters/dynamodb/dynalite.js';
import { resolveConfig } from '../../src/config/config.js';
import { isTerminal } from '../../src/core/phases.js';
import { handleEcrEvent } from '../../src/engine/ecr-trigger.js';
import { VirtualClock } from '../../src/ports/clock.js';
import { silentLog } from '../../src/ports/log.js';
import { awsRuntimeOnFake } from '../support/fake-stepfunctions.js';
import { serviceConfig, startHarness, type Harness } from '../support/harness.js';
import { releaseFinished } from '../support/poll.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const ci = { id: 'ci', channel: 'api' } as const;

let dynamo: LocalDynamo;
const closers: (() => Promise<void>)[] = [];
beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
afterAll(async () => dynamo.close());
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

let n = 0;
async function localHarness(): Promise<Harness> {
  const h = await startHarness([serviceConfig(`web-${++n}`, { strategy: { type: 'canary', steps: [{ percent: 10, bake: '1m' }] } })], { dynamo });
  closers.push(() => h.close());
  return h;
}

/** The AWS wiring (DynamoDB store, the Step Functions adapter) against Step Functions' rules, run by the local interpreter. */
function awsPath() {
  const name = `web-${++n}`;
  const config = resolveConfig({
    services: [{ ...serviceConfig(name, { strategy: { type: 'canary', steps: [{ percent: 10, bake: '1m' }] } }), trigger: { repository: 'web' } }],
  });
  const { runtime, engine, sfn, driver, metrics, close } = awsRuntimeOnFake({ config, dynamo, virtualClock: new VirtualClock() });
  closers.push(close);
  let event = 0;
  const push = (d: string, id = `event-${++event}`) =>
    handleEcrEvent(
      {
        id,
        source: 'aws.ecr',
        'detail-type': 'ECR Image Action',
        account: '123456789012',
        region: 'eu-west-1',
        detail: { result: 'SUCCESS', 'action-type': 'PUSH', 'repository-name': 'web', 'image-digest': d, 'image-tag': 'latest' },
      },
      { services: config.services, releases: runtime.releases, log: silentLog },
    );
  const finish = (id: string) => releaseFinished(runtime.store, engine, id);
  return { name, runtime, engine, sfn, driver, metrics, push, finish };
}

describe('a digest can be released again (execution names are per release, not per image)', () => {
  it('local engine: A, then B, then A again all succeed', async () => {
    const h = await localHarness();
    const service = h.services[0]?.name ?? '';
    for (const [i, d] of [digest('a'), digest('b'), digest('a')].entries()) {
      const { release } = await h.releases.startRelease({ service, image: `${REGISTRY}/web:${i}@${d}`, actor: ci });
      const done = await h.finish(release.id);
      expect(done.phase, `release ${i + 1}`).toBe('succeeded');
    }
    expect(h.driver.state(service).stable).toBe(`${REGISTRY}/web:2@${digest('a')}`);
  });

  it('AWS path: pushes of A, B, A each start and finish a release under its own execution name', async () => {
    const aws = awsPath();
    const ids: string[] = [];
    for (const d of [digest('a'), digest('b'), digest('a')]) {
      const out = await aws.push(d);
      expect(out.outcome).toBe('started');
      const id = out.outcome === 'started' ? (out.releases[0]?.releaseId ?? '') : '';
      expect((await aws.finish(id)).phase).toBe('succeeded');
      ids.push(id);
    }
    expect(new Set(ids).size).toBe(3);
    expect(aws.sfn.starts.map((s) => s.outcome)).toEqual(['started', 'started', 'started']);
    expect(new Set(aws.sfn.starts.map((s) => s.name)).size).toBe(3);
  });
});

describe('what an ECR push means', () => {
  it('a redelivered event collapses; a push of a digest in flight joins it; of the served digest starts nothing; of a rolled-back digest starts anew', async () => {
    const aws = awsPath();
    const first = await aws.push(digest('a'), 'e-1');
    const a = first.outcome === 'started' ? (first.releases[0]?.releaseId ?? '') : '';
    expect(first).toMatchObject({ outcome: 'started', releases: [{ created: true }] });
    // EventBridge redelivers the same event: same release.
    expect(await aws.push(digest('a'), 'e-1')).toMatchObject({ outcome: 'started', releases: [{ releaseId: a, created: false }] });
    // The same digest pushed again (another tag, another event) while it is being released: joins it.
    expect(await aws.push(digest('a'), 'e-2')).toMatchObject({ outcome: 'started', releases: [{ releaseId: a, created: false }] });
    expect((await aws.finish(a)).phase).toBe('succeeded');
    // The digest the service now serves: nothing to release, and the answer says why.
    const served = await aws.push(digest('a'), 'e-3');
    expect(served).toEqual({ outcome: 'ignored', reason: `${aws.name} already serves ${digest('a')}: nothing to release` });
    // A bad version is rolled back...
    aws.metrics.errorRate.set(`${REGISTRY}/web:latest@${digest('b')}`, 50);
    const bad = await aws.push(digest('b'), 'e-4');
    const b1 = bad.outcome === 'started' ? (bad.releases[0]?.releaseId ?? '') : '';
    expect((await aws.finish(b1)).phase).toBe('rolled_back');
    // ...and pushing it again (fixed config, flaky gate) is a new release, not the old one.
    aws.metrics.errorRate.set(`${REGISTRY}/web:latest@${digest('b')}`, 0);
    const again = await aws.push(digest('b'), 'e-5');
    const b2 = again.outcome === 'started' ? (again.releases[0]?.releaseId ?? '') : '';
    expect(b2).not.toBe(b1);
    expect((await aws.finish(b2)).phase).toBe('succeeded');
  });
});

describe('a start that cannot create its execution', () => {
  it('fails the release with the reason and frees the service, never a silent no-op', async () => {
    const aws = awsPath();
    aws.sfn.failures.push(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));
    const error = await aws.push(digest('c'), 'e-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const [failed] = (await aws.runtime.store.list({ service: aws.name, limit: 5 })).releases;
    expect(failed?.phase).toBe('failed');
    expect(failed?.reason).toMatch(/^the release workflow could not be started: .*throttled/);
    expect(isTerminal(failed?.phase ?? 'queued')).toBe(true);
    expect(await aws.runtime.store.lockOwner(aws.name, Date.now())).toBeUndefined();
    // EventBridge retries the event: the retry starts a release (the key no longer names the failed one).
    const retried = await aws.push(digest('c'), 'e-1');
    const id = retried.outcome === 'started' ? (retried.releases[0]?.releaseId ?? '') : '';
    expect(id).not.toBe(failed?.id);
    expect((await aws.finish(id)).phase).toBe('succeeded');
  });
});

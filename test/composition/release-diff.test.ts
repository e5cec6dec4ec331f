import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { ImportClients } from '../../src/composition/ecs-import.js';
import { diffSubject, releaseDiff, releaseDiffText } from '../../src/composition/release-diff.js';
import { resolveConfig } from '../../src/config/config.js';
import { NotFoundError, ValidationError } from '../../src/core/errors.js';
import { VirtualClock } from '../../src/ports/clock.js';
import { ecsMock, FAKE_ECS_TARGET, FakeEcs, installFakeEcs, STABLE_IMAGE } from '../support/fake-ecs.js';

const config = resolveConfig({
  services: [
    {
      name: 'api',
      target: { ...FAKE_ECS_TARGET, taskDefinition: { overrides: { environment: { LOG_LEVEL: 'info' } } } },
      strategy: { type: 'linear', stepPercent: 20, interval: '3m', finalBake: '10m' },
      gates: { alarms: ['api-5xx'] },
      approvals: { at: ['after-first-step'], approvers: ['alice', 'bob'], timeout: '2h', fourEyes: true },
    },
    {
      name: 'web',
      target: { driver: 'local', command: ['node', 'server.js'], port: 8080, initialVersion: 'v3' },
      strategy: { type: 'blue-green', bake: '1m' },
    },
    { name: 'gone', target: { ...FAKE_ECS_TARGET, service: 'gone' }, strategy: { type: 'blue-green' } },
  ],
  people: [{ name: 'alice' }, { name: 'bob' }],
});

const NEW_IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/api@sha256:${'1'.repeat(64)}`;
let fake: FakeEcs;
let clients: ImportClients;
beforeEach(() => {
  fake = new FakeEcs(new VirtualClock());
  installFakeEcs(fake);
  // A diff reads no alarms: CloudWatch must not be called.
  const cloudwatch = { send: () => Promise.reject(new Error('diff must not call CloudWatch')) } as unknown as CloudWatchClient;
  clients = { ecs: new ECSClient({ region: 'eu-west-1' }), cloudwatch };
});

/** The ECS calls the diff sent, by name: reads only. */
const sent = () => ecsMock.calls().map((c) => (c.args[0] as object).constructor.name.replace(/Command$/, ''));

describe('switchyard diff on ECS (reading the running task definition)', () => {
  it('an image: the task-definition changes (image, the configured overrides), the plan, the gates and who may approve; nothing written', async () => {
    const diff = await releaseDiff(config, 'api', { image: NEW_IMAGE }, { clients });
    expect(diff.change).toEqual({
      kind: 'task-definition',
      running: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/api:1',
      changes: [
        { path: 'containerDefinitions[app].image', before: STABLE_IMAGE, after: NEW_IMAGE },
        { path: 'containerDefinitions[app].environment[LOG_LEVEL]', after: '{"name":"LOG_LEVEL","value":"info"}' },
      ],
      truncated: false,
    });
    expect(diff.plan.labels).toEqual([
      '20%',
      'bake 3m',
      'approval (after-first-step)',
      '40%',
      'bake 3m',
      '60%',
      'bake 3m',
      '80%',
      'bake 3m',
      '100%',
      'bake 10m',
      'finalize',
    ]);
    expect(diff.gates).toEqual([{ name: 'api-5xx', kind: 'alarm', text: 'CloudWatch alarm api-5xx in ALARM fails it' }]);
    expect(diff.approvals.points).toEqual([{ label: 'after-first-step', timeoutSeconds: 7200, onTimeout: 'rollback' }]);
    expect(diff.approvals.whoMay).toMatchObject({
      approve: 'alice, bob',
      rollback: 'anyone authenticated',
      start: 'a proven person (one of people in the config)',
    });
    const text = releaseDiffText(diff).join('\n');
    expect(text).toContain(`  ~ containerDefinitions[app].image: ${STABLE_IMAGE} → ${NEW_IMAGE}`);
    expect(text).toContain('  who may approve: alice, bob (four-eyes: not the person who started the release)');
    // Reading only: no revision registered, no service updated.
    expect(fake.calls).toEqual([]);
    expect(sent()).toEqual(['DescribeServices', 'DescribeTaskDefinition']);
  });

  it('a task definition file: its differences from the running revision, read-only fields and order ignored', async () => {
    const running = fake.resolveTaskDefinition('api')!.definition;
    const file = {
      ...structuredClone(running),
      cpu: '512',
      containerDefinitions: [...structuredClone(running.containerDefinitions ?? [])].reverse().map((c) => (c.name === 'app' ? { ...c, image: 'api:2' } : c)),
    };
    const diff = await releaseDiff(config, 'api', { file: 'taskdef.json', taskDefinition: file as Record<string, unknown> }, { clients });
    expect(diff.change.kind === 'task-definition' && diff.change.changes.map((c) => c.path)).toEqual(['cpu', 'containerDefinitions[app].image']);
    expect(fake.calls).toEqual([]);
  });

  it('the running image again changes nothing, and says so', async () => {
    const same = resolveConfig({ services: [{ name: 'api', target: FAKE_ECS_TARGET, strategy: { type: 'blue-green' } }] });
    const diff = await releaseDiff(same, 'api', { image: STABLE_IMAGE }, { clients });
    expect(diff.change.kind === 'task-definition' && diff.change.changes).toEqual([]);
    expect(releaseDiffText(diff)).toContain('  no change: the release would register the same revision');
  });

  it('a service ECS does not have: NotFound naming the call; an unknown name lists the configured ones', async () => {
    await expect(releaseDiff(config, 'gone', { image: NEW_IMAGE }, { clients })).rejects.toThrow(NotFoundError);
    await expect(releaseDiff(config, 'gone', { image: NEW_IMAGE }, { clients })).rejects.toThrow('(ecs:DescribeServices answered MISSING)');
    await expect(releaseDiff(config, 'nope', { image: NEW_IMAGE }, { clients })).rejects.toThrow('unknown service "nope"; configured services: api, web, gone');
  });
});

/** The service as DescribeServices answers, with `change` applied (the fake's revisions stay readable). */
function serviceAs(change: (svc: Record<string, unknown>) => Record<string, unknown>) {
  ecsMock.on(DescribeServicesCommand).callsFake(async (i: { cluster?: string; services?: string[] }) => {
    const out = fake.sdkDescribeServices(i);
    return { ...out, services: out.services.map((svc) => change(svc as Record<string, unknown>)) };
  });
}

describe('switchyard diff, what ECS is doing now', () => {
  const REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/api';
  const revision = (image: string) => fake.register({ family: 'api', containerDefinitions: [{ name: 'app', image, portMappings: [{ containerPort: 8080 }] }] });

  it('a deployment in progress: the diff says so, which revisions still serve production, and that a release would wait', async () => {
    const stable = fake.resolveTaskDefinition('api')!.definition.taskDefinitionArn!;
    const candidate = revision(`${REPO}@sha256:${'b'.repeat(64)}`);
    serviceAs((svc) => ({
      ...svc,
      taskDefinition: candidate,
      deployments: [
        { id: 'ecs-svc/2', status: 'PRIMARY', taskDefinition: candidate, rolloutState: 'IN_PROGRESS', runningCount: 1, desiredCount: 4 },
        { id: 'ecs-svc/1', status: 'ACTIVE', taskDefinition: stable, rolloutState: 'COMPLETED', runningCount: 4, desiredCount: 4 },
      ],
    }));
    const diff = await releaseDiff(config, 'api', { image: NEW_IMAGE }, { clients });
    expect(diff.change.kind === 'task-definition' && diff.change.inProgress).toEqual({
      revision: candidate,
      rolloutState: 'IN_PROGRESS',
      runningCount: 1,
      others: [{ revision: stable, status: 'ACTIVE', runningCount: 4 }],
    });
    const text = releaseDiffText(diff);
    expect(text).toContain(
      `A deployment is in progress: ${candidate} (rollout IN_PROGRESS, 1 task running); ${stable} (ACTIVE, 4 tasks) still serves production`,
    );
    expect(text).toContain(`  this diff is against ${candidate}, the revision the service names; a release would first wait for that deployment to end`);
    expect(sent()).toEqual(['DescribeServices', 'DescribeTaskDefinition']);
  });

  it('the running tag again: not "no change", as ECS resolves the tag to a digest again', async () => {
    const tagged = revision(`${REPO}:1.8.1`);
    serviceAs((svc) => ({ ...svc, taskDefinition: tagged }));
    const same = resolveConfig({ services: [{ name: 'api', target: FAKE_ECS_TARGET, strategy: { type: 'blue-green' } }] });
    const text = releaseDiffText(await releaseDiff(same, 'api', { image: `${REPO}:1.8.1` }, { clients })).join('\n');
    expect(text).toContain(`  no change in the task definition, but the release still deploys: ECS resolves ${REPO}:1.8.1 to a digest again`);
    expect(text).not.toContain('no change: the release would register the same revision');
  });
});

describe('switchyard diff: tags it may not read', () => {
  it('ecs:ListTagsForResource denied: the diff is still made, and says the tags were not compared', async () => {
    ecsMock.on(DescribeTaskDefinitionCommand).callsFake(async (i: { taskDefinition: string; include?: string[] }) => {
      if (i.include?.includes('TAGS'))
        throw Object.assign(new Error('User: me is not authorized to perform: ecs:ListTagsForResource on resource: task-definition/api:1'), {
          name: 'AccessDeniedException',
          $metadata: { httpStatusCode: 400 },
        });
      return { taskDefinition: structuredClone(fake.resolveTaskDefinition(i.taskDefinition)!.definition) };
    });
    const text = releaseDiffText(await releaseDiff(config, 'api', { image: NEW_IMAGE }, { clients })).join('\n');
    expect(text).toContain(`~ containerDefinitions[app].image: ${STABLE_IMAGE} → ${NEW_IMAGE}`);
    expect(text).toContain('(tags not compared: its tags could not be read: your AWS credentials may not call ecs:DescribeTaskDefinition');
  });
});

describe('switchyard diff: what it is given', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-diff-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const taskDefinition = { family: 'api', containerDefinitions: [{ name: 'app', image: 'api:2' }] };

  it('a task definition file with or without .json (in any case) is read as one; an image reference as a release takes it', async () => {
    for (const name of ['taskdef', 'taskdef.JSON']) {
      writeFileSync(join(dir, name), JSON.stringify({ taskDefinition }));
      expect(await diffSubject(join(dir, name))).toEqual({ file: join(dir, name), taskDefinition });
    }
    expect(await diffSubject(NEW_IMAGE)).toEqual({ image: NEW_IMAGE });
  });

  it('an image a release would refuse is refused by the diff too, before AWS is asked', async () => {
    await expect(releaseDiff(config, 'api', { image: 'taskdef.JSON' }, { clients })).rejects.toThrow(
      '"taskdef.JSON" is not an image reference a release takes',
    );
    expect(ecsMock.calls()).toEqual([]);
  });

  it.each([
    ['a .json path that does not exist', 'missing.json', 'missing.json: no such file; pass the path of a task definition JSON file, or an image'],
    ['neither an image nor a file', 'Api:2', '"Api:2" is neither an image reference (repository[:tag][@sha256:<64 hex>]'],
    ['a path that does not exist', './defs/taskdef', './defs/taskdef: no such file'],
  ])('%s: a clear error', async (_case, what, message) => {
    const attempt = diffSubject(what);
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toThrow(message);
  });
});

describe('switchyard diff on a local service', () => {
  it('the version and the command that runs it; the plan and gates as configured; AWS never asked', async () => {
    const diff = await releaseDiff(config, 'web', { image: 'v4' }, { clients });
    expect(diff.change).toEqual({ kind: 'local', command: 'node server.js', from: 'v3', to: 'v4' });
    expect(diff.gates.map((g) => g.name)).toEqual(['process-health']);
    expect(releaseDiffText(diff)).toContain('Version    v3 -> v4   (v3 is the version at first start; `switchyard get web` shows the one running)');
    expect(ecsMock.calls()).toEqual([]);
  });

  it('a task definition file for a local service is refused with what to pass instead', async () => {
    const attempt = releaseDiff(config, 'web', { file: 'taskdef.json', taskDefinition: {} }, { clients });
    await expect(attempt).rejects.toThrow(ValidationError);
    await expect(attempt).rejects.toThrow('taskdef.json: web is a local service, which runs a command, not a task definition; pass the version to release');
  });
});

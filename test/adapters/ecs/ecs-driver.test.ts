import { ecsDriverFor } from '../../../src/composition/aws-drivers.js';
import {
  ContinueServiceDeploymentCommand,
  DescribeServiceDeploymentsCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type ECSClient,
} from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { PAUSE_STAGES } from '../../../src/adapters/ecs/ecs-driver.js';
import { resolveConfig } from '../../../src/config/config.js';
import type { Release } from '../../../src/core/release.js';
import { createRelease, markDeployed, withDriverState } from '../../../src/core/transitions.js';
import { VirtualClock } from '../../../src/ports/clock.js';
import { settle } from '../../support/driver-contract.js';
import { FAKE_ECS_TARGET, FakeEcs, ecsMock, installFakeEcs } from '../../support/fake-ecs.js';
import { T0 } from '../../support/releases.js';

/**
 * The ecs driver's answers to what a real account does and the friendly path never shows: a read that
 * lags a restore, a weight snapshot that lags a step, a start whose answer was lost, a rollback ECS
 * gives up on. Each case found a defect in review (issue 22).
 */

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/api@sha256:' + '2'.repeat(64);

function setup(strategy: Record<string, unknown> = { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '5m' }, fakeOptions = {}) {
  const clock = new VirtualClock();
  const fake = new FakeEcs(clock, fakeOptions);
  installFakeEcs(fake);
  const [service] = resolveConfig({ services: [{ name: 'api', target: FAKE_ECS_TARGET, strategy }] }).services;
  if (!service || service.target.driver !== 'ecs') throw new Error('no ecs service');
  const driver = ecsDriverFor(service, { ecs: ecsMock as unknown as ECSClient });
  const release = createRelease(
    { id: 'r1', service: 'api', artifact: { image: IMAGE }, plan: service.plan, settings: service.settings, actor: { id: 'ci', channel: 'api' } },
    T0,
  );
  const elapse = { elapse: (ms: number) => clock.advanceBy(ms) };
  return { fake, driver, release, clock, elapse };
}

/** From now on ECS's weight snapshot reads 0 whatever the step (SDK: "may not reflect real-time changes"). */
function lagWeights(fake: FakeEcs): void {
  ecsMock.on(DescribeServiceDeploymentsCommand).callsFake((i: { serviceDeploymentArns: string[] }) => ({
    serviceDeployments: i.serviceDeploymentArns.map((arn) => {
      const d = fake.describeDeployment(arn);
      return { ...d, targetServiceRevision: { ...d.targetServiceRevision, requestedProductionTrafficWeight: 0 } };
    }),
  }));
}

describe('the ecs driver where AWS is harsher than the friendly path', () => {
  it('never takes Switchyard’s own pause hook, left on the service (a restore not yet visible, or one that failed), as the user’s configuration', async () => {
    const { fake, driver, release } = setup(undefined, {
      deploymentConfiguration: {
        strategy: 'CANARY',
        bakeTimeInMinutes: 0,
        lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: [...PAUSE_STAGES], timeoutConfiguration: { timeoutInMinutes: 25, action: 'ROLLBACK' } }],
      },
    });
    const answer = await driver.deploy(release);
    expect(answer).toMatchObject({ done: false, seen: expect.stringContaining("still shows Switchyard's pause hook") as string });
    // Nothing registered, nothing stored as "original": the next ask reads again.
    expect(answer.state).toBeUndefined();
    expect(ecsMock.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(fake.calls.filter((c) => c.command === 'UpdateService')).toHaveLength(0);
  });

  it('a weight snapshot that lags a step never makes it let the next hook go: the bake is not skipped', async () => {
    const { fake, driver, release, elapse } = setup();
    const ready = markDeployed(await settle(elapse, release, (r) => driver.deploy(r)), T0);
    // From here ECS's weight snapshot reads 0 whatever the step (SDK: "may not reflect real-time changes").
    lagWeights(fake);
    let current: Release = ready;
    for (let ask = 0; ask < 20; ask++) {
      current = withDriverState(current, (await driver.setWeight(current, 10)) ?? undefined);
      elapse.elapse(30_000);
    }
    // ECS made the 10% step and holds at the hook before 100%: twenty asks never let it go.
    const truth = fake.describeDeployment(fake.latest()!.arn);
    expect(truth.targetServiceRevision?.requestedProductionTrafficWeight).toBe(10);
    expect(truth.lifecycleHookDetails?.at(-1)?.status).toBe('AWAITING_ACTION');
    expect(fake.calls.filter((c) => c.command === 'ContinueServiceDeployment')).toHaveLength(2);
  });

  it('a rollback after a start whose answer was lost looks for the deployment a few times before concluding nothing started', async () => {
    const { driver, release } = setup();
    const asked = withDriverState(release, {
      taskDefinition: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/api:9',
      startAsked: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/api:9',
    });
    let current = asked;
    const answers = [];
    for (let look = 0; look < 5; look++) {
      const progress = await driver.rollback(current);
      answers.push(progress.done);
      current = withDriverState(current, progress.state);
    }
    expect(answers).toEqual([false, false, false, false, true]);
    // With no start asked, nothing was started: done at once.
    expect((await driver.rollback(release)).done).toBe(true);
  });

  it('ROLLBACK_FAILED is final: the previous revision is deployed again instead of waiting for ECS to try again', async () => {
    const { fake, driver, release, elapse } = setup();
    const ready = markDeployed(await settle(elapse, release, (r) => driver.deploy(r)), T0);
    const arn = ready.driverState?.['serviceDeploymentArn'] ?? '';
    ecsMock.on(DescribeServiceDeploymentsCommand).callsFake(() => ({ serviceDeployments: [{ ...fake.describeDeployment(arn), status: 'ROLLBACK_FAILED' }] }));
    const progress = await driver.rollback(ready);
    expect(progress).toMatchObject({ done: false, state: { redeployed: ready.driverState?.['previousTaskDefinition'] } });
    const redeploy = ecsMock.commandCalls(UpdateServiceCommand).at(-1)?.args[0].input;
    expect(redeploy?.taskDefinition).toBe(ready.driverState?.['previousTaskDefinition']);
  });

  it.each([
    { name: 'blue-green', strategy: { type: 'blue-green' }, from: 0, to: 100, hooks: 2 },
    { name: 'canary, first step', strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }] }, from: 0, to: 10, hooks: 2 },
    { name: 'canary, promote before traffic', strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }] }, from: 0, to: 100, hooks: 3 },
    { name: 'canary, to 100%', strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }] }, from: 10, to: 100, hooks: 1 },
    { name: 'linear, one step', strategy: { type: 'linear', stepPercent: 20, interval: '2m' }, from: 20, to: 40, hooks: 1 },
    { name: 'linear, promote from 20%', strategy: { type: 'linear', stepPercent: 20, interval: '2m' }, from: 20, to: 100, hooks: 4 },
  ])(
    '$name: a shift from $from% to $to% lets go $hooks pause hooks (one before each ECS step, one after test traffic from 0%)',
    ({ strategy, from, to, hooks }) => {
      const { driver, release } = setup(strategy);
      expect(driver.hooksBefore(release.plan, from, to)).toBe(hooks);
    },
  );

  it('a continue whose answer was lost (ECS refuses the repeat) still counts as let go: with a lagging weight the bake is not skipped', async () => {
    const { fake, driver, release, elapse } = setup();
    const ready = markDeployed(await settle(elapse, release, (r) => driver.deploy(r)), T0);
    lagWeights(fake);
    // The second continue (the hook before the 10% step) reaches ECS, but its answer is lost.
    let continues = 0;
    ecsMock.on(ContinueServiceDeploymentCommand).callsFake((i: { serviceDeploymentArn: string; hookId: string; action?: string }) => {
      const answer = fake.continue(i.serviceDeploymentArn, i.hookId, i.action);
      if (++continues === 2) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError', $metadata: { httpStatusCode: 500 } });
      return answer;
    });
    let current: Release = ready;
    for (let ask = 0; ask < 20; ask++) {
      try {
        current = withDriverState(current, (await driver.setWeight(current, 10)) ?? undefined);
      } catch {
        // The workflow retries the task; the stale read then shows the hook it already let go.
      }
      elapse.elapse(30_000);
    }
    const truth = fake.describeDeployment(fake.latest()!.arn);
    expect(truth.targetServiceRevision?.requestedProductionTrafficWeight).toBe(10);
    expect(truth.lifecycleHookDetails?.at(-1)?.status).toBe('AWAITING_ACTION');
  });

  it('a release that began while another deployment changed the service goes back, at its end, to what the service ran once that one ended', async () => {
    const { fake, driver, release, elapse } = setup();
    // Someone else's deployment of revision 2 is under way when the release begins.
    const theirs = fake.register({ family: 'api', containerDefinitions: [{ name: 'app', image: IMAGE.replace('2'.repeat(64), '7'.repeat(64)) }] });
    fake.update({ cluster: 'prod', service: 'api', taskDefinition: theirs });
    expect((await driver.deploy(release)).done).toBe(false);
    expect(ecsMock.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    const ready = await settle(elapse, release, (r) => driver.deploy(r));
    expect(ready.driverState?.['previousTaskDefinition']).toBe(theirs);
  });
});

import { FAKE_TARGET, FakeCodeDeploy, installFakeAws, mocks, STABLE_DIGEST } from '../../support/fake-codedeploy.js';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { GetDeploymentGroupCommand } from '@aws-sdk/client-codedeploy';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { beforeEach, describe, expect, it } from 'vitest';
import { codedeployPreflight, ecrImage } from '../../../src/adapters/codedeploy/preflight.js';
import { resolveConfig } from '../../../src/config/config.js';
import { VirtualClock } from '../../../src/ports/clock.js';

const [service] = resolveConfig({
  services: [
    {
      name: 'api',
      target: FAKE_TARGET,
      strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '10m' },
      approvals: { at: ['before-traffic'], timeout: '1h' },
      gates: { alarms: ['api-5xx'] },
    },
  ],
}).services;
if (!service || service.target.driver !== 'codedeploy') throw new Error('no service');
const target = service.target;

let fake: FakeCodeDeploy;
let alarm: 'OK' | 'ALARM' | 'missing' = 'OK';
beforeEach(() => {
  fake = new FakeCodeDeploy(new VirtualClock());
  alarm = 'OK';
  installFakeAws(fake);
  mocks.cw.on(DescribeAlarmsCommand).callsFake(() => ({ MetricAlarms: alarm === 'missing' ? [] : [{ AlarmName: 'api-5xx', StateValue: alarm }] }));
});

const run = () =>
  codedeployPreflight({
    target,
    plan: service.plan,
    alarms: ['api-5xx'],
    ecs: mocks.ecs as unknown as ECSClient,
    codedeploy: mocks.cd as unknown as CodeDeployClient,
    cloudwatch: mocks.cw as unknown as CloudWatchClient,
    ecr: mocks.ecr as unknown as ECRClient,
  });
const failed = async () => (await run()).filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);

describe('CodeDeploy pre-flight checks (read-only)', () => {
  it('a ready target passes every check, and only reads', async () => {
    const checks = await run();
    expect(
      checks.map((c) => c.name),
      JSON.stringify(checks),
    ).toEqual(['deployment group ready wait', 'deployment group termination wait', 'alarm api-5xx', 'current task definition', 'current image']);
    expect(checks.every((c) => c.ok)).toBe(true);
    const mutating = [...mocks.cd.calls(), ...mocks.ecs.calls(), ...mocks.cw.calls(), ...mocks.ecr.calls()]
      .map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name)
      .filter((name) => !/^(Get|Describe|List|BatchGet)/.test(name));
    expect(mutating).toEqual([]);
  });

  it.each<[string, () => void, string]>([
    [
      'a ready wait shorter than the pre-traffic approval',
      () => (fake.group.readyWaitMinutes = 30),
      'deployment group ready wait: the plan waits up to 3600s before traffic',
    ],
    [
      'a termination wait shorter than the final bake',
      () => (fake.group.terminationWaitMinutes = 5),
      'deployment group termination wait: the plan watches 600s after 100%',
    ],
    ['a gate alarm already firing', () => (alarm = 'ALARM'), 'alarm api-5xx: is already firing'],
    ['a gate alarm that does not exist', () => (alarm = 'missing'), 'alarm api-5xx: does not exist'],
    ['the current image gone from ECR', () => fake.missingImages.add(STABLE_DIGEST), 'current image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/api@sha256:'],
  ])('%s fails its check with what to do', async (_name, breakIt, message) => {
    breakIt();
    expect((await failed()).join('\n')).toContain(message);
  });

  it('a read that is refused (a missing permission) is a failed check, not a crash', async () => {
    mocks.cd
      .on(GetDeploymentGroupCommand)
      .rejects(Object.assign(new Error('User is not authorized to perform codedeploy:GetDeploymentGroup'), { name: 'AccessDeniedException' }));
    expect(await failed()).toContain('deployment group: could not be read: User is not authorized to perform codedeploy:GetDeploymentGroup');
  });

  it('reads ECR image references, by digest or by tag, and leaves other registries alone', () => {
    expect(ecrImage(`123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:1.2@${STABLE_DIGEST}`)).toEqual({
      registryId: '123456789012',
      repositoryName: 'team/api',
      imageId: { imageDigest: STABLE_DIGEST },
    });
    expect(ecrImage('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/api:1.2')).toEqual({
      registryId: '123456789012',
      repositoryName: 'api',
      imageId: { imageTag: '1.2' },
    });
    expect(ecrImage('ghcr.io/acme/api:1.2')).toBeUndefined();
  });
});

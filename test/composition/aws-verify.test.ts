import { FAKE_TARGET, FakeCodeDeploy, installFakeAws, mocks } from '../support/fake-codedeploy.js';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CreateDeploymentCommand, CreateDeploymentConfigCommand, type CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, RegisterTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { beforeEach, describe, expect, it } from 'vitest';
import { dryRunRelease, verifyTargets, type RecordedCall } from '../../src/composition/aws-verify.js';
import { resolveConfig } from '../../src/config/config.js';
import { VirtualClock } from '../../src/ports/clock.js';

const config = resolveConfig({
  services: [
    {
      name: 'api',
      target: FAKE_TARGET,
      strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '10m' },
      gates: { alarms: ['api-5xx'] },
    },
    { name: 'web', target: { driver: 'local', command: 'node server.js', port: 8080 }, strategy: { type: 'blue-green' } },
  ],
});
const clients = () => ({
  ecs: mocks.ecs as unknown as ECSClient,
  codedeploy: mocks.cd as unknown as CodeDeployClient,
  cloudwatch: mocks.cw as unknown as CloudWatchClient,
  ecr: mocks.ecr as unknown as ECRClient,
});
const sentCount = () => [mocks.ecs, mocks.cd, mocks.cw, mocks.ecr].reduce((n, m) => n + m.calls().length, 0);

let fake: FakeCodeDeploy;
beforeEach(() => {
  fake = new FakeCodeDeploy(new VirtualClock());
  installFakeAws(fake);
  mocks.cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'api-5xx', StateValue: 'OK' }] });
});

describe('switchyard verify', () => {
  it('checks every AWS service against live AWS, read-only, and says nothing is to check for local ones', async () => {
    const results = await verifyTargets(config, { clients: clients() });
    expect(results.map((r) => [r.service, r.checks.every((c) => c.ok), r.checks.length])).toEqual([
      ['api', true, 6],
      ['web', true, 0],
    ]);
  });

  it('reports a service that is not ready, with the reason', async () => {
    fake.group.terminationWaitMinutes = 1;
    const [api] = await verifyTargets(config, { service: 'api', clients: clients() });
    expect(api?.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['deployment group termination wait']);
  });

  it('--dry-run sends nothing and lists each call with its exact input', async () => {
    const calls: RecordedCall[] = [];
    await verifyTargets(config, { service: 'api', dryRun: true, clients: clients(), calls });
    expect(sentCount()).toBe(0);
    expect(calls.map((c) => `${c.service} ${c.command}`)).toEqual([
      'codedeploy GetDeploymentGroup',
      'cloudwatch DescribeAlarms',
      'ecs DescribeServices',
      // The stack's grants against the live service (hook roles, task definition family).
      'ecs DescribeServices',
    ]);
    expect(calls[0]?.input).toEqual({ applicationName: 'api', deploymentGroupName: 'api-dg' });
    expect(calls.every((c) => !c.sent)).toBe(true);
  });

  describe('the stack’s grants against the live service', () => {
    const HOOK_ROLE = 'arn:aws:iam::123456789012:role/smoke-hook';
    const withTarget = (extra: Record<string, unknown>) =>
      resolveConfig({ services: [{ name: 'api', target: { ...FAKE_TARGET, ...extra }, strategy: { type: 'blue-green' }, gates: { alarms: ['api-5xx'] } }] });
    const live = (taskDefinition = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/api:7') =>
      mocks.ecs.on(DescribeServicesCommand).resolves({
        services: [
          {
            serviceName: 'api',
            taskDefinition,
            deploymentConfiguration: {
              lifecycleHooks: [
                {
                  hookTargetArn: 'arn:aws:lambda:eu-west-1:123456789012:function:smoke',
                  roleArn: HOOK_ROLE,
                  targetType: 'AWS_LAMBDA',
                  lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'],
                },
              ],
            },
          },
        ],
      });
    const check = async (config: ReturnType<typeof withTarget>, name: string) =>
      (await verifyTargets(config, { clients: clients() }))[0]?.checks.find((c) => c.name === name);

    it('a Lambda lifecycle hook whose role the stack may not pass to ECS fails, naming the role and the config line to add', async () => {
      live();
      const failed = await check(withTarget({ passRoles: ['arn:aws:iam::123456789012:role/api-task'] }), 'lifecycle hook roles passable');
      expect(failed?.ok).toBe(false);
      expect(failed?.detail).toBe(
        `lifecycle hook arn:aws:lambda:eu-west-1:123456789012:function:smoke of ${FAKE_TARGET.cluster}/${FAKE_TARGET.service} uses role ${HOOK_ROLE}, which Switchyard passes back to ECS with UpdateService, but the stack may not pass it (iam:PassRole to ecs.amazonaws.com): add "${HOOK_ROLE}" to services[0].target.passRoles (service api) and deploy the stack again`,
      );
      // With no roles listed the stack passes any role, but to ECS tasks only: still not the hook's.
      expect((await check(withTarget({}), 'lifecycle hook roles passable'))?.ok).toBe(false);
      const passed = await check(withTarget({ passRoles: ['arn:aws:iam::123456789012:role/api-task', HOOK_ROLE] }), 'lifecycle hook roles passable');
      expect(passed).toEqual({ name: 'lifecycle hook roles passable', ok: true, detail: `the stack may pass ${HOOK_ROLE} to ECS` });
    });

    it('a configured task definition family other than the one the service runs fails, naming the one to set', async () => {
      live('arn:aws:ecs:eu-west-1:123456789012:task-definition/api-prod:7');
      const wrong = await check(withTarget({ family: 'api', passRoles: [HOOK_ROLE] }), 'task definition family');
      expect(wrong?.ok).toBe(false);
      expect(wrong?.detail).toContain('runs task definition family "api-prod", but services[0].target.family is "api"');
      expect(wrong?.detail).toContain('set services[0].target.family to "api-prod" and deploy the stack again');
      expect((await check(withTarget({ family: 'api-prod', passRoles: [HOOK_ROLE] }), 'task definition family'))?.ok).toBe(true);
      const unset = await check(withTarget({ passRoles: [HOOK_ROLE] }), 'task definition family');
      expect(unset?.ok).toBe(true);
      expect(unset?.detail).toContain('set services[0].target.family to "api-prod" to scope it');
    });
  });

  it('an unknown service is an error that lists the configured ones', async () => {
    await expect(verifyTargets(config, { service: 'nope', clients: clients() })).rejects.toThrow('unknown service "nope"; configured services: api, web');
  });
});

describe('switchyard release --dry-run', () => {
  it('prints every call that would change something, with its exact input, and makes none of them', async () => {
    const image = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:2@sha256:${'b'.repeat(64)}`;
    const calls = await dryRunRelease(config, 'api', image, { clients: clients() });
    const mutating = calls.filter((c) => !c.sent);
    expect(mutating.map((c) => `${c.service} ${c.command}`)).toEqual([
      'states StartExecution',
      'ecs RegisterTaskDefinition',
      'codedeploy CreateDeploymentConfig',
      'codedeploy CreateDeployment',
    ]);
    const register = mutating[1]?.input as { containerDefinitions: { name: string; image: string }[] };
    expect(register.containerDefinitions).toEqual([{ name: 'app', image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/api@sha256:${'b'.repeat(64)}` }]);
    const create = mutating[3]?.input as { deploymentConfigName: string; revision: { appSpecContent: { content: string } } };
    expect(create.deploymentConfigName).toBe('Switchyard.ECSCanary10Percent5Minutes');
    expect(create.revision.appSpecContent.content).toContain('<the task definition RegisterTaskDefinition would register>');
    // Reads were made (they change nothing: the running revision, and the family's latest to reuse an identical one); nothing that changes anything reached AWS.
    expect(calls.filter((c) => c.sent).map((c) => c.command)).toEqual(['DescribeServices', 'DescribeTaskDefinition', 'DescribeTaskDefinition']);
    expect(mocks.ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(mocks.cd.commandCalls(CreateDeploymentConfigCommand)).toHaveLength(0);
    expect(mocks.cd.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
    expect(fake.deployments.size).toBe(0);
  });

  it('local services have no AWS calls to show', async () => {
    await expect(dryRunRelease(config, 'web', 'web:2', { clients: clients() })).rejects.toThrow('uses the local driver');
  });
});

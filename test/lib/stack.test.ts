import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SwitchyardStack } from '../../lib/switchyard-stack.js';
import { loadConfigWithSource } from '../../src/config/load.js';
import { buildDefinition } from '../../src/workflow/definition.js';

let template: Template;
let app: App;
let stack: SwitchyardStack;

beforeAll(async () => {
  const { config, raw } = await loadConfigWithSource('examples/aws/switchyard.config.ts');
  // Skip esbuild bundling here: the bundles are measured by `npm run bench:bundles`.
  app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-')), context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new SwitchyardStack(app, 'Switchyard', { config, rawConfig: raw, env: { account: '123456789012', region: 'eu-west-1' } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  template = Template.fromStack(stack);
});

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };
function statements(): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );
}
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('the CDK stack', () => {
  it('runs the very definition the local engine runs, Standard, logging ALL, traced', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'Switchyard-release',
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true, Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }] },
    });
    const sm = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0] as {
      Properties: { DefinitionString: { 'Fn::Join': [string, unknown[]] } };
    };
    const parts = sm.Properties.DefinitionString['Fn::Join'][1];
    const rendered = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'FN')).join('')) as Record<string, unknown>;
    // Tokens (the function ARN, the partition) render as FN on both sides.
    const local = buildDefinition({ functionArn: 'FN', partition: 'FN' });
    expect(rendered).toEqual(local);
    // The callback integration's ARN takes the stack's partition (China, GovCloud), not a literal "aws".
    expect(parts).toContainEqual({ Ref: 'AWS::Partition' });
  });

  it('an upgrade replaces nothing that holds state, a name or a URL: those resources keep their logical ids', () => {
    const ids = (type: string) => Object.keys(template.findResources(type)).sort();
    expect(ids('AWS::DynamoDB::Table')).toEqual(['TableCD117FA1']);
    expect(ids('AWS::SecretsManager::Secret')).toEqual(['SlackSecretEA96F13F']);
    expect(ids('AWS::StepFunctions::StateMachine')).toEqual(['ReleaseWorkflow89827BAB']);
    expect(ids('AWS::ApiGatewayV2::Api')).toEqual(['ReleaseApi52D54134']);
    expect(ids('AWS::ApiGatewayV2::Stage')).toEqual(['ReleaseApiDefaultStageC978AB05']);
    expect(ids('AWS::SQS::Queue')).toEqual(['EcrTriggerDlq226254FC']);
    expect(ids('AWS::Events::Rule')).toEqual(['EcrPush32521110']);
    expect(ids('AWS::Logs::LogGroup')).toEqual([
      'ApiAccessLogsE9DF007D',
      'ApiLogsCD139AD4',
      'EcrTriggerLogs65602278',
      'StateMachineLogs3CB16D3C',
      'WorkflowLogs8B0907C7',
    ]);
  });

  it('every function has the house defaults: latest Node runtime, ARM64, tracing, source maps, its own log group', () => {
    const fns = template.findResources('AWS::Lambda::Function');
    expect(Object.keys(fns)).toHaveLength(3);
    for (const fn of Object.values(fns) as { Properties: Record<string, unknown> }[]) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
      });
      expect((fn.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables).toMatchObject({
        NODE_OPTIONS: '--enable-source-maps',
        TABLE_NAME: { Ref: expect.any(String) },
        STATE_MACHINE_ARN: expect.anything(),
        SLACK_SECRET_ARN: { Ref: expect.stringMatching(/^SlackSecret/) },
      });
    }
    template.resourceCountIs('AWS::Logs::LogGroup', 5);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('the table is on demand, with point-in-time recovery, TTL and the configured removal policy', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          Match.objectLike({ IndexName: 'byService' }),
          Match.objectLike({ IndexName: 'byTime' }),
          Match.objectLike({ IndexName: 'byPhase' }),
        ],
      },
    });
  });

  it('lists by phase query their own index: byPhase, keyed by phase then creation time, with every attribute projected', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'gsi3pk', AttributeType: 'S' },
        { AttributeName: 'gsi3sk', AttributeType: 'S' },
      ]),
      GlobalSecondaryIndexes: Match.arrayWith([
        {
          IndexName: 'byPhase',
          KeySchema: [
            { AttributeName: 'gsi3pk', KeyType: 'HASH' },
            { AttributeName: 'gsi3sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ]),
    });
  });

  it('the HTTP API authorizes every route with IAM (as configured) except Slack’s, and logs access', () => {
    const routes = template.findResources('AWS::ApiGatewayV2::Route');
    expect(
      Object.values(routes)
        .map((r) => (r as { Properties: { RouteKey: string } }).Properties.RouteKey)
        .sort(),
    ).toEqual([
      'GET /healthz',
      'GET /openapi.json',
      'GET /releases',
      'GET /releases/{id}',
      'GET /releases/{id}/{action}',
      'GET /services',
      'GET /whoami',
      'POST /releases',
      'POST /releases/{id}/{action}',
      'POST /slack/interactions',
    ]);
    for (const r of Object.values(routes) as { Properties: { RouteKey: string; AuthorizationType: string } }[]) {
      // Only Slack's route skips IAM: it is authenticated by Slack's signature.
      expect(r.Properties.AuthorizationType).toBe(r.Properties.RouteKey === 'POST /slack/interactions' ? 'NONE' : 'AWS_IAM');
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: Match.anyValue() },
    });
  });

  it('the ECR rule matches successful pushes of the configured repositories, with retries and a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ecr'],
        'detail-type': ['ECR Image Action'],
        detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'repository-name': ['checkout-api', 'search', 'payments'] },
      },
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 }, DeadLetterConfig: { Arn: Match.anyValue() } })],
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  it('no trigger event is lost silently: a failing handler is retried by Lambda, then parked in the queue, and the queue and failed executions alarm', () => {
    const dlq = { 'Fn::GetAtt': ['EcrTriggerDlq226254FC', 'Arn'] };
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: { OnFailure: { Destination: dlq } },
    });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => (a as { Properties: Record<string, unknown> }).Properties);
    const byMetric = (name: string) => alarms.find((a) => a['MetricName'] === name);
    expect(byMetric('ApproximateNumberOfMessagesVisible')).toMatchObject({ Namespace: 'AWS/SQS', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(byMetric('ExecutionsFailed')).toMatchObject({ Namespace: 'AWS/States', Threshold: 0 });
    expect(byMetric('ExecutionsTimedOut')).toMatchObject({ Namespace: 'AWS/States', Threshold: 0 });
    for (const alarm of alarms) expect(alarm['AlarmActions']).toEqual([{ Ref: expect.stringMatching(/^Alerts/) }]);
    expect(template.findOutputs('AlertsTopicArn')).not.toEqual({});
  });

  it('a Slack secret exists and outputs give the API URL, state machine and table', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: { GenerateStringKey: 'signingSecret' } });
    for (const name of ['ApiUrl', 'StateMachineArn', 'TableName', 'SlackSecretArn']) expect(template.findOutputs(name)).not.toEqual({});
  });

  it('least privilege: no wildcard actions, ECS and CodeDeploy scoped to the configured services', () => {
    const all = statements();
    for (const s of all) for (const a of actions(s)) expect(a, `wildcard action ${a}`).not.toMatch(/\*/);
    const find = (action: string) => all.filter((s) => actions(s).includes(action));
    expect(find('ecs:DescribeServices')[0]?.Resource).toEqual(
      ['prod/checkout-api', 'prod/search', 'prod/payments'].map((n) => ({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:ecs:eu-west-1:123456789012:service/${n}`]],
      })),
    );
    expect(JSON.stringify(find('codedeploy:CreateDeployment')[0]?.Resource)).toContain('deploymentgroup:payments/payments-prod');
    expect(JSON.stringify(find('codedeploy:CreateDeploymentConfig')[0]?.Resource)).toContain('deploymentconfig:CodeDeployDefault.ECSAllAtOnce');
    // ECS native deployments: the services the config names, and their deployments.
    expect(JSON.stringify(find('ecs:UpdateService')[0]?.Resource)).toContain('service/prod/checkout-api');
    expect(JSON.stringify(find('ecs:UpdateService')[0]?.Resource)).not.toContain('service/prod/payments');
    expect(JSON.stringify(find('ecs:ContinueServiceDeployment')[0]?.Resource)).toContain('service-deployment/prod/search/*');
    expect(JSON.stringify(find('cloudwatch:DescribeAlarms')[0]?.Resource)).toContain('alarm:checkout-api-5xx');
    // Every service names its roles: PassRole is limited to them, and to ECS.
    expect(find('iam:PassRole')[0]?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': ['ecs-tasks.amazonaws.com', 'ecs.amazonaws.com'] } });
    expect(find('iam:PassRole')[0]?.Resource).toContain('arn:aws:iam::123456789012:role/checkout-api-task');
    for (const a of ['states:StartExecution', 'states:SendTaskSuccess']) {
      for (const s of find(a)) expect(JSON.stringify(s.Resource)).toContain('stateMachine:Switchyard-release');
    }
  });

  it('cdk-nag AwsSolutions reports no unacknowledged finding', () => {
    // With a finding, synth throws ValidationFailed and the report lists it; both would fail here.
    let failure: unknown;
    try {
      app.synth();
    } catch (error) {
      failure = error;
    }
    const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports?: { violations?: { ruleName: string }[] }[];
    };
    const violations = (report.pluginReports ?? []).flatMap((p) => p.violations ?? []).map((v) => v.ruleName);
    expect(violations).toEqual([]);
    expect(failure).toBeUndefined();
  });
});

describe('the CDK stack with a JWT authorizer and no Slack', () => {
  it('uses the configured issuer and audience on every route and adds no Slack route or secret access', async () => {
    const { config, raw } = await loadConfigWithSource('examples/aws/switchyard.config.ts');
    const jwtConfig = {
      ...config,
      api: { auth: 'jwt' as const, jwt: { issuer: 'https://auth.example.com/', audience: ['switchyard'] } },
      services: config.services.map((s) => ({ ...s, slackChannel: undefined })),
    };
    const jwtApp = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const jwtStack = new SwitchyardStack(jwtApp, 'SwitchyardJwt', { config: jwtConfig, rawConfig: raw, env: { account: '123456789012', region: 'eu-west-1' } });
    const t = Template.fromStack(jwtStack);
    t.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://auth.example.com/', Audience: ['switchyard'] },
    });
    t.allResourcesProperties('AWS::ApiGatewayV2::Route', { AuthorizationType: 'JWT' });
    const routes = Object.values(t.findResources('AWS::ApiGatewayV2::Route')).map((r) => (r as { Properties: { RouteKey: string } }).Properties.RouteKey);
    expect(routes).not.toContain('POST /slack/interactions');
    for (const fn of Object.values(t.findResources('AWS::Lambda::Function')) as { Properties: { Environment: { Variables: Record<string, unknown> } } }[]) {
      expect(fn.Properties.Environment.Variables['SLACK_SECRET_ARN']).toBeUndefined();
    }
  });
});

describe('the CDK stack when a service names no roles and no family', () => {
  it('still lets the listed roles (Lambda hook roles among them) go to ECS, passes any role to ECS tasks only, and registers any family', async () => {
    const { config, raw } = await loadConfigWithSource('examples/aws/switchyard.config.ts');
    const mixed = {
      ...config,
      services: config.services.map((s) =>
        s.name === 'search' && s.target.driver === 'ecs' ? { ...s, target: { ...s.target, passRoles: undefined, family: undefined } } : s,
      ),
    };
    const mixedApp = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new SwitchyardStack(mixedApp, 'SwitchyardMixed', { config: mixed, rawConfig: raw, env: { account: '123456789012', region: 'eu-west-1' } });
    const policies = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')) as {
      Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[] } };
    }[];
    const passRole = policies.flatMap((p) => p.Properties.PolicyDocument.Statement).filter((s) => [s.Action].flat().includes('iam:PassRole'));
    expect(passRole.map((s) => [s.Resource, s.Condition])).toEqual([
      [
        expect.arrayContaining(['arn:aws:iam::123456789012:role/checkout-api-task', 'arn:aws:iam::123456789012:role/payments-task']),
        { StringEquals: { 'iam:PassedToService': ['ecs-tasks.amazonaws.com', 'ecs.amazonaws.com'] } },
      ],
      ['*', { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } }],
    ]);
    const register = policies.flatMap((p) => p.Properties.PolicyDocument.Statement).find((s) => [s.Action].flat().includes('ecs:RegisterTaskDefinition'));
    expect(JSON.stringify(register?.Resource)).toContain(':task-definition/*');
  });
});

describe('the CDK stack of the root switchyard.config.ts (what `npx cdk deploy` reads)', () => {
  it('deploys its service on ECS native deployments, with zero cdk-nag findings and no CodeDeploy permission', async () => {
    const { config, raw } = await loadConfigWithSource('switchyard.config.ts');
    expect(config.services.map((s) => [s.name, s.target.driver])).toEqual([['checkout-api', 'ecs']]);
    const rootApp = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-')), context: { 'aws:cdk:bundling-stacks': [] } });
    const rootStack = new SwitchyardStack(rootApp, 'Switchyard', { config, rawConfig: raw, env: { account: '123456789012', region: 'eu-west-1' } });
    Validations.of(rootApp).addPlugins(new AwsSolutionsChecks(rootApp));
    const t = Template.fromStack(rootStack);
    const report = JSON.parse(readFileSync(join(rootApp.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports?: { violations?: { ruleName: string }[] }[];
    };
    expect((report.pluginReports ?? []).flatMap((p) => p.violations ?? []).map((v) => v.ruleName)).toEqual([]);
    const granted = Object.values(t.findResources('AWS::IAM::Policy')).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
    );
    const find = (action: string) => granted.filter((s) => actions(s).includes(action));
    expect(JSON.stringify(find('ecs:ContinueServiceDeployment')[0]?.Resource)).toContain('service-deployment/prod/checkout-api/*');
    expect(granted.flatMap(actions).filter((a) => a.startsWith('codedeploy:'))).toEqual([]);
  });
});

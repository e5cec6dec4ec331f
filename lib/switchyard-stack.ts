import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { HttpApi, HttpMethod, HttpNoneAuthorizer, LogGroupLogDestination, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { deploymentConfigFor } from '../src/resources/codedeploy.js';
import { TABLE } from '../src/resources/table.js';
import type { SwitchyardConfig } from '../src/config/config.js';
import type { CodeDeployTarget } from '../src/config/schema.js';
import { buildDefinition } from '../src/workflow/definition.js';
import { SwitchyardFunction } from './switchyard-function.js';

export interface SwitchyardStackProps extends StackProps {
  /** The validated config: it decides every resource and permission below. */
  readonly config: SwitchyardConfig;
  /** The config as written, compiled into the Lambda bundles. */
  readonly rawConfig: unknown;
}

/**
 * Switchyard in one stack: the release workflow (Standard Step Functions, the same definition the
 * local engine runs), the Lambdas it calls, the DynamoDB table, the HTTP API, the ECR trigger and
 * the Slack secret. Permissions are scoped to the services named in the config.
 */
export class SwitchyardStack extends Stack {
  readonly table: Table;
  readonly stateMachine: StateMachine;
  readonly api: HttpApi;

  constructor(scope: Construct, id: string, props: SwitchyardStackProps) {
    super(scope, id, props);
    const { config, rawConfig } = props;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const codedeploy = config.services.flatMap((s) => (s.target.driver === 'codedeploy' ? [s.target] : []));

    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE.ttlAttribute,
      removalPolicy,
    });
    for (const index of TABLE.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
      });
    }

    // The state machine's name is fixed so its ARN is known before it exists: the workflow
    // function needs it (to start queued releases) and the state machine needs the function.
    const stateMachineName = `${this.stackName}-release`;
    const stateMachineArn = this.formatArn({ service: 'states', resource: 'stateMachine', resourceName: stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    // Slack: the signing secret and bot token, filled in after deploy (README: Slack setup).
    const slack = new Secret(this, 'SlackSecret', {
      description: 'Switchyard Slack app: {"signingSecret": "...", "botToken": "xoxb-..."}',
      generateSecretString: { secretStringTemplate: JSON.stringify({ botToken: 'xoxb-replace-me' }), generateStringKey: 'signingSecret', excludePunctuation: true },
      removalPolicy,
    });
    Validations.of(slack).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Slack issues the signing secret and bot token; they are rotated in Slack, not by a rotation Lambda.' });
    const slackEnabled = config.services.some((s) => s.slackChannel !== undefined);
    const environment = {
      TABLE_NAME: this.table.tableName,
      STATE_MACHINE_ARN: stateMachineArn,
      POWERTOOLS_SERVICE_NAME: 'switchyard',
      ...(slackEnabled ? { SLACK_SECRET_ARN: slack.secretArn } : {}),
    };
    const common = { config: rawConfig, environment, logRemovalPolicy: removalPolicy };

    const workflowFn = new SwitchyardFunction(this, 'Workflow', { ...common, entry: 'workflow.ts', description: 'Switchyard release workflow tasks', timeout: Duration.minutes(15) });
    const apiFn = new SwitchyardFunction(this, 'Api', { ...common, entry: 'api.ts', description: 'Switchyard HTTP API' });
    const triggerFn = new SwitchyardFunction(this, 'EcrTrigger', { ...common, entry: 'ecr-trigger.ts', description: 'Switchyard ECR push trigger' });
    for (const f of [workflowFn, apiFn, triggerFn]) this.table.grantReadWriteData(f.fn);

    const smLogs = new LogGroup(this, 'StateMachineLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy });
    this.stateMachine = new StateMachine(this, 'ReleaseWorkflow', {
      stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromString(Stack.of(this).toJsonString(buildDefinition({ functionArn: workflowFn.fn.functionArn }))),
      logs: { destination: smLogs, level: LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    workflowFn.fn.grantInvoke(this.stateMachine);
    Validations.of(this.stateMachine).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: 'X-Ray tracing and CloudWatch Logs log delivery (logs:CreateLogDelivery and related) support no resource-level permissions.' });
    for (const f of [workflowFn, apiFn, triggerFn]) {
      f.fn.addToRolePolicy(new PolicyStatement({ actions: ['states:StartExecution'], resources: [stateMachineArn] }));
    }
    // Approvals: the API (and the workflow, for decisions made before the token was stored) complete
    // callbacks. By the known ARN, not the state machine's token, which would make a dependency cycle.
    for (const f of [apiFn, workflowFn]) {
      f.fn.addToRolePolicy(new PolicyStatement({ actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'], resources: [stateMachineArn] }));
    }
    Validations.of(this.stateMachine).acknowledge({ id: `AwsSolutions-IAM5[Resource::${nagString(this, `${workflowFn.fn.functionArn}:*`)}]`, reason: 'Step Functions may invoke any version of the workflow function it was deployed with (grantInvoke adds the :* form).' });

    this.grantTargets(workflowFn, codedeploy, config);

    // HTTP API: IAM or JWT authorizer on every route.
    const authorizer: IHttpRouteAuthorizer =
      config.api.auth === 'jwt' && config.api.jwt
        ? new HttpJwtAuthorizer('Jwt', config.api.jwt.issuer, { jwtAudience: [...config.api.jwt.audience] })
        : new HttpIamAuthorizer();
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy });
    this.api = new HttpApi(this, 'ReleaseApi', { description: 'Switchyard API', defaultAuthorizer: authorizer, createDefaultStage: false });
    this.api.addStage('DefaultStage', { stageName: '$default', autoDeploy: true, accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) } });
    const integration = new HttpLambdaIntegration('ApiIntegration', apiFn.fn);
    for (const [path, methods] of [
      ['/healthz', [HttpMethod.GET]],
      ['/openapi.json', [HttpMethod.GET]],
      ['/services', [HttpMethod.GET]],
      ['/releases', [HttpMethod.GET, HttpMethod.POST]],
      ['/releases/{id}', [HttpMethod.GET]],
      ['/releases/{id}/{action}', [HttpMethod.POST]],
    ] as const) {
      this.api.addRoutes({ path, methods: [...methods], integration });
    }
    if (slackEnabled) {
      const [route] = this.api.addRoutes({ path: '/slack/interactions', methods: [HttpMethod.POST], integration, authorizer: new HttpNoneAuthorizer() });
      if (route) Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason: 'Slack cannot sign requests for IAM or JWT; the function verifies Slack’s HMAC signature over the raw body (5-minute window) before anything else.' });
    }

    // ECR pushes of the configured repositories start releases; failed deliveries go to a queue.
    const repositories = [...new Set(config.services.flatMap((s) => (s.trigger ? [s.trigger.repository] : [])))];
    if (repositories.length > 0) {
      const dlq = new Queue(this, 'EcrTriggerDlq', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
      Validations.of(dlq).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of the ECR trigger rule.' });
      new Rule(this, 'EcrPush', {
        description: 'ECR pushes that start Switchyard releases',
        eventPattern: { source: ['aws.ecr'], detailType: ['ECR Image Action'], detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'repository-name': repositories } },
        targets: [new LambdaFunction(triggerFn.fn, { retryAttempts: 4, maxEventAge: Duration.hours(2), deadLetterQueue: dlq })],
      });
    }

    if (slackEnabled) for (const f of [apiFn, workflowFn, triggerFn]) slack.grantRead(f.fn);

    const basicRole = ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole').managedPolicyArn;
    for (const f of [workflowFn, apiFn, triggerFn]) {
      Validations.of(f.fn).acknowledge({ id: `AwsSolutions-IAM4[Policy::${nagString(this, basicRole)}]`, reason: 'AWSLambdaBasicExecutionRole only allows writing to the function’s own log group.' });
      Validations.of(f.fn).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: 'X-Ray PutTraceSegments/PutTelemetryRecords and, for the workflow, ecs:RegisterTaskDefinition, ecs:DescribeTaskDefinition, cloudwatch:GetMetricData and iam:PassRole (conditioned on ecs-tasks) support no resource-level permissions.' });
      Validations.of(f.fn).acknowledge({ id: `AwsSolutions-IAM5[Resource::${nagString(this, `${this.table.tableArn}/index/*`)}]`, reason: 'The store queries the table’s own two indexes (byService, byTime).' });
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint, description: 'Switchyard HTTP API' });
    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn, description: 'Release workflow' });
    new CfnOutput(this, 'TableName', { value: this.table.tableName, description: 'Release store' });
    new CfnOutput(this, 'SlackSecretArn', { value: slack.secretArn, description: 'Put the Slack signing secret and bot token here' });
  }

  /** Least privilege on the configured ECS services, CodeDeploy groups and alarms. */
  private grantTargets(workflow: SwitchyardFunction, targets: readonly CodeDeployTarget[], config: SwitchyardConfig): void {
    if (targets.length === 0) return;
    const arn = (service: string, resource: string, resourceName: string, arnFormat = ArnFormat.SLASH_RESOURCE_NAME) => this.formatArn({ service, resource, resourceName, arnFormat });
    const add = (actions: string[], resources: string[], conditions?: Record<string, Record<string, string>>) =>
      workflow.fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions, resources, ...(conditions ? { conditions } : {}) }));
    add(['ecs:DescribeServices'], targets.map((t) => arn('ecs', 'service', `${t.cluster}/${t.service}`)));
    // Task definitions have no resource-level permissions for these two calls.
    add(['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition'], ['*']);
    add(['ecs:TagResource'], [arn('ecs', 'task-definition', '*')], { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } });
    add(['iam:PassRole'], ['*'], { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    const groups = targets.map((t) => arn('codedeploy', 'deploymentgroup', `${t.application}/${t.deploymentGroup}`, ArnFormat.COLON_RESOURCE_NAME));
    add(['codedeploy:CreateDeployment', 'codedeploy:GetDeployment', 'codedeploy:StopDeployment', 'codedeploy:ContinueDeployment', 'codedeploy:ListDeployments', 'codedeploy:ListDeploymentTargets', 'codedeploy:BatchGetDeploymentTargets'], groups);
    add(['codedeploy:GetApplicationRevision', 'codedeploy:RegisterApplicationRevision'], targets.map((t) => arn('codedeploy', 'application', t.application, ArnFormat.COLON_RESOURCE_NAME)));
    // The exact traffic configs each service's plan needs (Switchyard.* ones are created on first use).
    const configs = [...new Set(config.services.flatMap((s) => (s.target.driver === 'codedeploy' ? [deploymentConfigFor(s.plan).name] : [])))];
    add(['codedeploy:CreateDeploymentConfig', 'codedeploy:GetDeploymentConfig'], configs.map((name) => arn('codedeploy', 'deploymentconfig', name, ArnFormat.COLON_RESOURCE_NAME)));
    const alarms = [...new Set(config.services.flatMap((s) => s.settings.gates.flatMap((g) => (g.kind === 'alarm' && s.target.driver === 'codedeploy' ? [g.name] : []))))];
    if (alarms.length > 0) add(['cloudwatch:DescribeAlarms'], alarms.map((a) => arn('cloudwatch', 'alarm', a, ArnFormat.COLON_RESOURCE_NAME)));
    add(['cloudwatch:GetMetricData'], ['*']);
    Validations.of(workflow.fn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagString(this, arn('ecs', 'task-definition', '*'))}]`,
      reason: 'Tags are carried over to the task definition revision registered at release time, whose ARN is not known in advance; limited to RegisterTaskDefinition by condition.',
    });
  }
}

/**
 * A value as cdk-nag prints it in finding ids: intrinsics rendered as `<Logical.Attr>` and
 * `<AWS::Region>`, so an acknowledgment names exactly one finding.
 */
export function nagString(stack: Stack, value: string): string {
  const render = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o['Ref'] === 'string') return `<${o['Ref']}>`;
      if (Array.isArray(o['Fn::GetAtt'])) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
      if (Array.isArray(o['Fn::Join'])) {
        const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
        return parts.map(render).join(sep);
      }
    }
    return JSON.stringify(v);
  };
  return render(stack.resolve(value));
}

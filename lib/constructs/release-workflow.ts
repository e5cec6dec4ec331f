import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Alarm, ComparisonOperator, TreatMissingData, type Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { SwitchyardConfig } from '../../src/config/config.js';
import { deploymentConfigFor } from '../../src/resources/codedeploy.js';
import { ECS_SERVICE, ECS_TASKS, passRoleGrant, taskDefinitionScopes } from '../../src/resources/ecs-grants.js';
import { buildDefinition } from '../../src/workflow/definition.js';
import { nagString } from './nag.js';
import { keepLogicalId } from './stable-ids.js';
import { SwitchyardFunction, WORKFLOW_BUNDLED_SDKS, type FunctionSettings } from './switchyard-function.js';

export interface ReleaseWorkflowProps extends FunctionSettings {
  /** The state machine's name, fixed so its ARN is known before it exists (the function needs it). */
  readonly stateMachineName: string;
  /** The services whose targets the workflow may move: their permissions are scoped to them. */
  readonly config: SwitchyardConfig;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Where alarms (failed or timed-out executions) notify. @default alarms without actions */
  readonly alarmTopic?: ITopic;
}

/**
 * The release workflow: a Standard Step Functions state machine running the one definition the
 * local engine also runs (src/workflow/definition.ts), logging ALL and traced, and the Lambda
 * that runs its tasks, with least-privilege access to the configured ECS services, CodeDeploy
 * groups and alarms.
 */
export class ReleaseWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly stateMachineArn: string;
  readonly function: SwitchyardFunction;
  /** Failed and timed-out executions. */
  readonly alarms: readonly Alarm[];

  /** The ARN a state machine of this name will have in `scope`'s stack, known before it exists. */
  static arnFor(scope: Construct, stateMachineName: string): string {
    return Stack.of(scope).formatArn({ service: 'states', resource: 'stateMachine', resourceName: stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  }

  constructor(scope: Construct, id: string, props: ReleaseWorkflowProps) {
    super(scope, id);
    const { stateMachineName, removalPolicy = RemovalPolicy.RETAIN } = props;
    const stack = Stack.of(this);
    this.stateMachineArn = ReleaseWorkflow.arnFor(stack, stateMachineName);
    this.function = new SwitchyardFunction(this, 'Function', {
      ...props,
      entry: 'workflow.ts',
      description: 'Switchyard release workflow tasks',
      bundledSdks: WORKFLOW_BUNDLED_SDKS,
      timeout: Duration.minutes(15),
      wildcardReason:
        'ecs:DescribeTaskDefinition and cloudwatch:GetMetricData support no resource-level permissions; iam:PassRole on * (conditioned on ecs-tasks) only when a service names no roles',
    });
    keepLogicalId(this.function.logGroup, 'WorkflowLogs8B0907C7');
    // The workflow starts queued releases, and completes approvals decided before their token was stored.
    this.function.grantWorkflow(this.stateMachineArn, { callbacks: true });

    const logs = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH, removalPolicy });
    keepLogicalId(logs, 'StateMachineLogs3CB16D3C');
    // `Default`: the state machine keeps the logical id (and fixed name) it had as a direct child of the stack.
    this.stateMachine = new StateMachine(this, 'Default', {
      stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromString(stack.toJsonString(buildDefinition({ functionArn: this.function.fn.functionArn, partition: stack.partition }))),
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    this.function.fn.grantInvoke(this.stateMachine);
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing and CloudWatch Logs log delivery (logs:CreateLogDelivery and related) support no resource-level permissions.',
    });
    Validations.of(this.stateMachine).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagString(stack, `${this.function.fn.functionArn}:*`)}]`,
      reason: 'Step Functions may invoke any version of the workflow function it was deployed with (grantInvoke adds the :* form).',
    });
    this.grantTargets(props.config);
    // A failed or timed-out execution means Recover could not end a release cleanly: someone must look.
    const alarm = (id: string, metric: Metric, alarmDescription: string): Alarm => {
      const created = new Alarm(this, id, {
        alarmDescription,
        metric,
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      if (props.alarmTopic) created.addAlarmAction(new SnsAction(props.alarmTopic));
      return created;
    };
    const perMinute = { period: Duration.minutes(1), statistic: 'Sum' };
    this.alarms = [
      alarm(
        'FailedExecutions',
        this.stateMachine.metricFailed(perMinute),
        'Switchyard release executions failed: the stable version may not have been confirmed restored',
      ),
      alarm('TimedOutExecutions', this.stateMachine.metricTimedOut(perMinute), 'Switchyard release executions timed out'),
    ];
  }

  /** Least privilege on the configured ECS services, CodeDeploy groups and alarms. */
  private grantTargets(config: SwitchyardConfig): void {
    const aws = config.services.flatMap((s) => (s.target.driver === 'local' ? [] : [s.target]));
    if (aws.length === 0) return;
    const targets = aws.flatMap((t) => (t.driver === 'codedeploy' ? [t] : []));
    const native = aws.flatMap((t) => (t.driver === 'ecs' ? [t] : []));
    const stack = Stack.of(this);
    const fn = this.function.fn;
    const arn = (service: string, resource: string, resourceName: string, arnFormat = ArnFormat.SLASH_RESOURCE_NAME) =>
      stack.formatArn({ service, resource, resourceName, arnFormat });
    const add = (actions: string[], resources: string[], conditions?: Record<string, Record<string, string | string[]>>) =>
      fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions, resources, ...(conditions ? { conditions } : {}) }));
    const taskDefinitionArns = taskDefinitionScopes(config).map((scope) => arn('ecs', 'task-definition', scope));
    add(
      ['ecs:DescribeServices'],
      aws.map((t) => arn('ecs', 'service', `${t.cluster}/${t.service}`)),
    );
    // DescribeTaskDefinition takes no resource type; RegisterTaskDefinition takes `task-definition`
    // (Service Authorization Reference), so it is scoped to each service's family's revisions
    // (`task-definition/<family>:*`), or to any family when a service's family is not in the config.
    add(['ecs:DescribeTaskDefinition'], ['*']);
    add(['ecs:RegisterTaskDefinition'], taskDefinitionArns);
    add(['ecs:TagResource'], taskDefinitionArns, { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } });
    // Only the roles the config names (task definitions' roles, and the services' Lambda lifecycle
    // hook roles that UpdateService passes back to ECS), to ECS tasks and ECS. When some service names
    // none, any role may also be passed to ECS tasks (never to ECS: hook roles must be listed).
    const grant = passRoleGrant(config);
    if (grant.roles.length > 0) add(['iam:PassRole'], [...grant.roles], { StringEquals: { 'iam:PassedToService': [ECS_TASKS, ECS_SERVICE] } });
    if (grant.anyRoleToTasks) add(['iam:PassRole'], ['*'], { StringEquals: { 'iam:PassedToService': ECS_TASKS } });
    if (native.length > 0) {
      const services = native.map((t) => arn('ecs', 'service', `${t.cluster}/${t.service}`));
      // UpdateService and ListServiceDeployments take the service; the deployment calls take the service
      // deployment too (Service Authorization Reference; test/lib/iam.test.ts simulates each call).
      add(['ecs:UpdateService', 'ecs:ListServiceDeployments'], services);
      add(
        ['ecs:DescribeServiceDeployments', 'ecs:ContinueServiceDeployment', 'ecs:StopServiceDeployment'],
        [...services, ...native.map((t) => arn('ecs', 'service-deployment', `${t.cluster}/${t.service}/*`))],
      );
    }
    if (targets.length === 0) {
      this.grantReads(config, arn, add);
      return;
    }
    const groups = targets.map((t) => arn('codedeploy', 'deploymentgroup', `${t.application}/${t.deploymentGroup}`, ArnFormat.COLON_RESOURCE_NAME));
    add(['codedeploy:CreateDeployment', 'codedeploy:GetDeployment', 'codedeploy:ListDeployments', 'codedeploy:GetDeploymentGroup'], groups);
    // Pre-flight: the current image must still be in ECR for a rollback to have something to start.
    const repositories = [...new Set(config.services.flatMap((s) => (s.target.driver === 'codedeploy' && s.trigger ? [s.trigger.repository] : [])))];
    if (repositories.length > 0)
      add(
        ['ecr:DescribeImages'],
        repositories.map((r) => arn('ecr', 'repository', r)),
      );
    // The Service Authorization Reference lists no resource type for these four: scoped to a group,
    // they are never allowed (test/lib/iam.test.ts simulates it). A deployment id names no group.
    add(['codedeploy:ContinueDeployment', 'codedeploy:StopDeployment', 'codedeploy:ListDeploymentTargets', 'codedeploy:BatchGetDeploymentTargets'], ['*']);
    add(
      ['codedeploy:GetApplicationRevision', 'codedeploy:RegisterApplicationRevision'],
      targets.map((t) => arn('codedeploy', 'application', t.application, ArnFormat.COLON_RESOURCE_NAME)),
    );
    // The exact traffic configs each service's plan needs (Switchyard.* ones are created on first use).
    const configs = [...new Set(config.services.flatMap((s) => (s.target.driver === 'codedeploy' ? [deploymentConfigFor(s.plan).name] : [])))];
    add(
      ['codedeploy:CreateDeploymentConfig', 'codedeploy:GetDeploymentConfig'],
      configs.map((name) => arn('codedeploy', 'deploymentconfig', name, ArnFormat.COLON_RESOURCE_NAME)),
    );
    this.grantReads(config, arn, add);
  }

  /** The gates' reads, for every AWS service: their alarms, and metric data (which has no resource type). */
  private grantReads(
    config: SwitchyardConfig,
    arn: (service: string, resource: string, resourceName: string, arnFormat?: ArnFormat) => string,
    add: (actions: string[], resources: string[]) => void,
  ): void {
    const stack = Stack.of(this);
    const alarms = [
      ...new Set(config.services.flatMap((s) => s.settings.gates.flatMap((g) => (g.kind === 'alarm' && s.target.driver !== 'local' ? [g.name] : [])))),
    ];
    if (alarms.length > 0)
      add(
        ['cloudwatch:DescribeAlarms'],
        alarms.map((a) => arn('cloudwatch', 'alarm', a, ArnFormat.COLON_RESOURCE_NAME)),
      );
    add(['cloudwatch:GetMetricData'], ['*']);
    // Webhook gates: the workflow function reads their shared secrets, the ones the config names and no other.
    const secrets = webhookSecretResources(config);
    if (secrets.length > 0) add(['secretsmanager:GetSecretValue'], secrets);
    for (const t of config.services.flatMap((svc) => (svc.target.driver === 'ecs' ? [svc.target] : []))) {
      Validations.of(this.function.fn).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagString(stack, arn('ecs', 'service-deployment', `${t.cluster}/${t.service}/*`))}]`,
        reason: `ECS names each service deployment of ${t.cluster}/${t.service} when it starts; the ARN is scoped to that service's deployments.`,
      });
    }
    // Registering a revision names its number only when it exists: each family's revisions (or any
    // family's, when a service's family is not in the config) are the narrowest resource.
    for (const resource of taskDefinitionScopes(config)) {
      Validations.of(this.function.fn).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagString(stack, arn('ecs', 'task-definition', resource))}]`,
        reason:
          resource === '*'
            ? 'ecs:RegisterTaskDefinition (and tagging the revision it registers) on any family: a service in the config names no task definition family (target.family); set it to scope this to task-definition/<family>:*.'
            : `ecs:RegisterTaskDefinition (and tagging the revision it registers) on the revisions of family ${resource.slice(0, -2)}, whose numbers are known only once registered.`,
      });
    }
  }
}

/**
 * The Secrets Manager ARNs of the config's webhook gates, as IAM matches them. A complete ARN ends
 * with the six characters Secrets Manager adds to the name; a partial one (without them) is matched
 * with `-??????`, as the Secrets Manager user guide advises, so it never matches a longer name.
 */
export function webhookSecretResources(config: SwitchyardConfig): string[] {
  const arns = config.services.flatMap((s) => s.settings.gates.flatMap((g) => (g.kind === 'webhook' && 'secretArn' in g.secret ? [g.secret.secretArn] : [])));
  return [...new Set(arns.flatMap((arn) => (/-[A-Za-z0-9]{6}$/.test(arn) ? [arn, `${arn}-??????`] : [`${arn}-??????`])))];
}

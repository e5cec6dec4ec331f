import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { resolveConfig, type SwitchyardConfig } from '../../src/config/config.js';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { nagString } from './nag.js';

/** The Step Functions callback calls: completing a task that waits for its token. */
export const CALLBACK_ACTIONS = ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'] as const;
const CALLBACK_WILDCARD_REASON =
  'states:SendTaskSuccess/Failure/Heartbeat list no resource type in the Service Authorization Reference, so they are also granted on *; the task token is the capability.';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** esbuild options of every Switchyard bundle (also used by `npm run bench:bundles`). */
export const BUNDLING = {
  format: 'esm',
  minify: true,
  sourceMap: true,
  target: 'node22',
  mainFields: ['module', 'main'],
  // ESM bundles still meet CommonJS dependencies that call require().
  banner: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);",
  // The Lambda Node.js runtime ships AWS SDK v3; bundling those clients again would only add weight
  // (and load time). A function bundles a client only where the runtime's copy may be too old for
  // the calls it makes: see `bundledSdks` and WORKFLOW_BUNDLED_SDKS.
  externalModules: [
    '@aws-sdk/client-cloudwatch',
    '@aws-sdk/client-cloudwatch-logs',
    '@aws-sdk/client-codedeploy',
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/util-dynamodb',
    '@aws-sdk/client-ecr',
    '@aws-sdk/client-ecs',
    '@aws-sdk/client-sfn',
    '@aws-sdk/client-secrets-manager',
    '@aws-sdk/credential-provider-node',
  ],
} as const;

/**
 * The clients the workflow function bundles instead of the runtime's: ECS's, since the runtime's copy may
 * predate ECS native deployments (ContinueServiceDeployment, DescribeServiceDeployments, lifecycle hooks);
 * the @aws-sdk/core it needs comes with it. Only the commands in src/adapters/aws/ecs-sdk.ts are kept.
 * The API reads versions' tasks (ListTasks, DescribeTasks) with the runtime's copy.
 */
export const WORKFLOW_BUNDLED_SDKS = ['@aws-sdk/client-ecs'] as const;

/** A function's esbuild externals: the runtime's SDK clients, less those it bundles. */
export function externalModules(bundledSdks: readonly string[] = []): string[] {
  return BUNDLING.externalModules.filter((m) => !bundledSdks.includes(m));
}

/**
 * The config compiled into a bundle, as esbuild `define` wants it: validated and resolved here, at
 * synth, so a Lambda reads it as it is and never loads the config's schema (zod) at cold start.
 */
export function defineConfig(rawConfig: unknown): Record<string, string> {
  return { __SWITCHYARD_CONFIG__: JSON.stringify(JSON.stringify(resolveConfig(rawConfig, 'the config compiled into the Lambdas'))) };
}

/** What every Switchyard function shares: the config compiled in, the environment, the store and Slack. */
export interface FunctionSettings {
  /** The raw config, compiled into the bundle (esbuild `define`). */
  readonly rawConfig: unknown;
  readonly environment?: Readonly<Record<string, string>>;
  /** @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** The release store; every function reads and writes it. */
  readonly table: ITable;
  /** The Slack app's secret, read by every function when Slack is configured. @default no Slack */
  readonly slackSecret?: ISecret;
}

export interface SwitchyardFunctionProps extends FunctionSettings {
  /** Entry file under lambdas/, for example `workflow.ts`. */
  readonly entry: string;
  readonly description: string;
  /** Why this function's role needs `Resource: *` beyond X-Ray (cdk-nag acknowledgement). @default X-Ray only */
  readonly wildcardReason?: string;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** AWS SDK clients bundled instead of the Lambda runtime's (see {@link WORKFLOW_BUNDLED_SDKS}). @default none */
  readonly bundledSdks?: readonly string[];
}

/**
 * Every Switchyard Lambda with one set of house defaults: the latest Node.js runtime, ARM64,
 * bundled by the local esbuild as minified ESM with source maps, an explicit log group with
 * retention, X-Ray tracing, the config compiled in, read-write access to the store and read access
 * to the Slack secret; the cdk-nag findings those bring are acknowledged here, beside them.
 */
export class SwitchyardFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: SwitchyardFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(ROOT, 'lambdas', props.entry),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      bundling: {
        ...BUNDLING,
        format: OutputFormat.ESM,
        mainFields: [...BUNDLING.mainFields],
        externalModules: externalModules(props.bundledSdks),
        define: defineConfig(props.rawConfig),
        forceDockerBundling: false,
      },
    });
    props.table.grantReadWriteData(this.fn);
    props.slackSecret?.grantRead(this.fn);
    const stack = Stack.of(this);
    const basicRole = ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole').managedPolicyArn;
    Validations.of(this.fn).acknowledge({
      id: `AwsSolutions-IAM4[Policy::${nagString(stack, basicRole)}]`,
      reason: 'AWSLambdaBasicExecutionRole only allows writing to the function’s own log group.',
    });
    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions${props.wildcardReason ? `; ${props.wildcardReason}` : ''}.`,
    });
    Validations.of(this.fn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagString(stack, `${props.table.tableArn}/index/*`)}]`,
      reason: 'The store queries the table’s own indexes (byService, byTime, byPhase).',
    });
  }

  /**
   * Lets the function read releases' logs (`switchyard logs`, the dashboard, approvals' error lines):
   * FilterLogEvents on the services' log groups the config names (`target.logGroup`) and on
   * Switchyard's own workflow log group, and finding a version's tasks (ListTasks, DescribeTasks,
   * DescribeTaskDefinition) in the configured clusters only.
   */
  grantLogReads(config: SwitchyardConfig, switchyardLogGroup: ILogGroup): void {
    const stack = Stack.of(this);
    const arn = (service: string, resource: string, resourceName: string, arnFormat = ArnFormat.SLASH_RESOURCE_NAME) =>
      stack.formatArn({ service, resource, resourceName, arnFormat });
    const targets = config.services.flatMap((s) => (s.target.driver === 'local' ? [] : [s.target]));
    const groups = [...new Set(targets.flatMap((t) => (t.logGroup ? [t.logGroup] : [])))];
    // Both forms: the Service Authorization Reference names a log group `log-group:<name>`, while log
    // groups' own ARNs (and most policies) end in `:*`; the simulation in test/lib/iam.test.ts checks it.
    const groupArns = [switchyardLogGroup.logGroupName, ...groups].flatMap((g) => [
      arn('logs', 'log-group', g, ArnFormat.COLON_RESOURCE_NAME),
      arn('logs', 'log-group', `${g}:*`, ArnFormat.COLON_RESOURCE_NAME),
    ]);
    this.fn.addToRolePolicy(new PolicyStatement({ actions: ['logs:FilterLogEvents'], resources: groupArns }));
    const clusters = [...new Set(targets.map((t) => t.cluster))];
    if (clusters.length === 0) return;
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['ecs:ListTasks'],
        resources: clusters.map((c) => arn('ecs', 'container-instance', `${c}/*`)),
        conditions: { ArnEquals: { 'ecs:cluster': clusters.map((c) => arn('ecs', 'cluster', c)) } },
      }),
    );
    this.fn.addToRolePolicy(new PolicyStatement({ actions: ['ecs:DescribeTasks'], resources: clusters.map((c) => arn('ecs', 'task', `${c}/*`)) }));
    this.fn.addToRolePolicy(new PolicyStatement({ actions: ['ecs:DescribeTaskDefinition'], resources: ['*'] }));
    for (const resource of [switchyardLogGroup.logGroupName, ...groups].map((g) => arn('logs', 'log-group', `${g}:*`, ArnFormat.COLON_RESOURCE_NAME))) {
      Validations.of(this.fn).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagString(stack, resource)}]`,
        reason: 'A log group’s ARN ends in :* for its streams; only the log groups the config names (and Switchyard’s own) are readable.',
      });
    }
    for (const c of clusters) {
      for (const resource of [arn('ecs', 'container-instance', `${c}/*`), arn('ecs', 'task', `${c}/*`)]) {
        Validations.of(this.fn).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${nagString(stack, resource)}]`,
          reason: `Task ids are only known at run time; reads are limited to the configured cluster ${c}.`,
        });
      }
    }
  }

  /** Lets the function start executions of, and complete callbacks of, the release state machine. */
  grantWorkflow(stateMachineArn: string, { callbacks }: { callbacks: boolean }): void {
    this.fn.addToRolePolicy(new PolicyStatement({ actions: ['states:StartExecution'], resources: [stateMachineArn] }));
    // By the known ARN, not the state machine's token, which would make a dependency cycle.
    // Both the state machine ARN and `*`: the Service Authorization Reference lists no resource type
    // for SendTaskSuccess/Failure/Heartbeat (so `*` is what it evaluates), while field evidence shows
    // AWS evaluating them against the state machine ARN (aws/aws-cdk PR 8486; CDK's grantTaskResponse
    // scopes to it). Granting both is correct under either reading; the task token, which only a
    // running task of this state machine hands out, is the real capability.
    if (callbacks) {
      this.fn.addToRolePolicy(new PolicyStatement({ actions: [...CALLBACK_ACTIONS], resources: [stateMachineArn, '*'] }));
      Validations.of(this.fn).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: CALLBACK_WILDCARD_REASON });
    }
  }
}

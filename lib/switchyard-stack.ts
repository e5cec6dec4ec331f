import { CfnOutput, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { Alias } from 'aws-cdk-lib/aws-kms';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { SwitchyardConfig } from '../src/config/config.js';
import { EcrTrigger } from './constructs/ecr-trigger.js';
import { ReleaseApi } from './constructs/release-api.js';
import { ReleaseTable } from './constructs/release-table.js';
import { ReleaseWorkflow } from './constructs/release-workflow.js';
import type { FunctionSettings } from './constructs/switchyard-function.js';

export interface SwitchyardStackProps extends StackProps {
  /** The validated config: it decides every resource and permission below. */
  readonly config: SwitchyardConfig;
  /** The config as written, compiled into the Lambda bundles. */
  readonly rawConfig: unknown;
}

/**
 * Switchyard in one stack, wired from its constructs: the release table, the release workflow
 * (the same definition the local engine runs, and its Lambda), the HTTP API, the ECR trigger and
 * the Slack secret. Permissions are scoped to the services named in the config.
 */
export class SwitchyardStack extends Stack {
  readonly table: ReleaseTable['table'];
  readonly stateMachine: ReleaseWorkflow['stateMachine'];
  readonly api: ReleaseApi['api'];

  constructor(scope: Construct, id: string, props: SwitchyardStackProps) {
    super(scope, id, props);
    const { config, rawConfig } = props;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const { table } = new ReleaseTable(this, 'Table', { removalPolicy });

    // Slack: the signing secret and bot token, filled in after deploy (README: Slack setup).
    const slack = new Secret(this, 'SlackSecret', {
      description: 'Switchyard Slack app: {"signingSecret": "...", "botToken": "xoxb-..."}',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ botToken: 'xoxb-replace-me' }),
        generateStringKey: 'signingSecret',
        excludePunctuation: true,
      },
      removalPolicy,
    });
    Validations.of(slack).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Slack issues the signing secret and bot token; they are rotated in Slack, not by a rotation Lambda.',
    });
    const slackEnabled = config.services.some((s) => s.slackChannel !== undefined);
    // Alarms (a push that started no release, a failed or timed-out execution) notify this topic:
    // subscribe your on-call address or chat integration to it.
    const alerts = new Topic(this, 'Alerts', {
      displayName: 'Switchyard alerts',
      enforceSSL: true,
      masterKey: Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
    });

    // The state machine's name is fixed so its ARN is known before it exists: every function
    // needs it (to start releases) and the state machine needs the workflow function.
    const stateMachineName = `${this.stackName}-release`;
    const settings = (stateMachineArn: string): FunctionSettings => ({
      rawConfig,
      table,
      logRemovalPolicy: removalPolicy,
      ...(slackEnabled ? { slackSecret: slack } : {}),
      environment: {
        TABLE_NAME: table.tableName,
        STATE_MACHINE_ARN: stateMachineArn,
        POWERTOOLS_SERVICE_NAME: 'switchyard',
        ...(slackEnabled ? { SLACK_SECRET_ARN: slack.secretArn } : {}),
      },
    });
    const stateMachineArn = ReleaseWorkflow.arnFor(this, stateMachineName);
    const workflow = new ReleaseWorkflow(this, 'ReleaseWorkflow', {
      ...settings(stateMachineArn),
      config,
      stateMachineName,
      removalPolicy,
      alarmTopic: alerts,
    });
    const apiSettings = settings(stateMachineArn);
    const api = new ReleaseApi(this, 'ReleaseApi', {
      ...apiSettings,
      // The API reads Switchyard's own lines about a release from the workflow's log group.
      environment: { ...apiSettings.environment, SWITCHYARD_LOG_GROUP: workflow.function.logGroup.logGroupName },
      auth: config.api,
      stateMachineArn,
      slackRoute: slackEnabled,
      removalPolicy,
    });
    // Releases' logs: the services' log groups and Switchyard's own (switchyard logs, the dashboard, approvals).
    workflow.function.grantLogReads(config, workflow.function.logGroup);
    api.function.grantLogReads(config, workflow.function.logGroup);
    workflow.function.fn.addEnvironment('SWITCHYARD_LOG_GROUP', workflow.function.logGroup.logGroupName);
    const repositories = [...new Set(config.services.flatMap((s) => (s.trigger ? [s.trigger.repository] : [])))];
    new EcrTrigger(this, 'EcrTrigger', { ...settings(stateMachineArn), repositories, stateMachineArn, alarmTopic: alerts });

    this.table = table;
    this.stateMachine = workflow.stateMachine;
    this.api = api.api;
    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint, description: 'Switchyard HTTP API' });
    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn, description: 'Release workflow' });
    new CfnOutput(this, 'TableName', { value: table.tableName, description: 'Release store' });
    new CfnOutput(this, 'AlertsTopicArn', { value: alerts.topicArn, description: 'Subscribe on-call to these alarms' });
    new CfnOutput(this, 'SlackSecretArn', { value: slack.secretArn, description: 'Put the Slack signing secret and bot token here' });
  }
}

import { Duration, Validations } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { keepLogicalId } from './stable-ids.js';
import { SwitchyardFunction, type FunctionSettings } from './switchyard-function.js';

export interface EcrTriggerProps extends FunctionSettings {
  /** Where alarms (a push that could not start a release) notify. @default alarms without actions */
  readonly alarmTopic?: ITopic;
  /** The ECR repositories whose pushes start releases; none means no rule (the function stays, idle). */
  readonly repositories: readonly string[];
  /** The release state machine the trigger starts executions of. */
  readonly stateMachineArn: string;
}

/**
 * Starts releases from ECR pushes: an EventBridge rule on successful pushes of the configured
 * repositories invokes the trigger function, retrying delivery, with a dead-letter queue for what
 * could not be delivered.
 */
export class EcrTrigger extends Construct {
  readonly function: SwitchyardFunction;
  readonly rule?: Rule;
  readonly deadLetterQueue?: Queue;
  /** Fires while the dead-letter queue holds a push that started no release. */
  readonly alarm?: Alarm;

  constructor(scope: Construct, id: string, props: EcrTriggerProps) {
    super(scope, id);
    this.function = new SwitchyardFunction(this, 'Function', { ...props, entry: 'ecr-trigger.ts', description: 'Switchyard ECR push trigger' });
    keepLogicalId(this.function.logGroup, 'EcrTriggerLogs65602278');
    this.function.grantWorkflow(props.stateMachineArn, { callbacks: false });
    if (props.repositories.length === 0) return;
    this.deadLetterQueue = new Queue(this, 'Dlq', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    keepLogicalId(this.deadLetterQueue, 'EcrTriggerDlq226254FC');
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the ECR trigger rule.',
    });
    this.rule = new Rule(this, 'Rule', {
      description: 'ECR pushes that start Switchyard releases',
      eventPattern: {
        source: ['aws.ecr'],
        detailType: ['ECR Image Action'],
        detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'repository-name': [...props.repositories] },
      },
      targets: [new LambdaFunction(this.function.fn, { retryAttempts: 4, maxEventAge: Duration.hours(2), deadLetterQueue: this.deadLetterQueue })],
    });
    keepLogicalId(this.rule, 'EcrPush32521110');
    // EventBridge invokes the function asynchronously: the rule's retries and dead-letter queue cover
    // delivery only. A handler error is retried by Lambda (retryAttempts), then the event goes to the
    // same queue through the on-failure destination instead of being dropped.
    this.function.fn.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6), onFailure: new SqsDestination(this.deadLetterQueue) });
    // Anything in the queue is a push that started no release: someone must look.
    this.alarm = new Alarm(this, 'LostPushes', {
      alarmDescription: 'ECR pushes that could not start a Switchyard release are waiting in the dead-letter queue',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) this.alarm.addAlarmAction(new SnsAction(props.alarmTopic));
  }
}

import { Duration, Validations } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { keepLogicalId } from './stable-ids.js';
import { SwitchyardFunction, type FunctionSettings } from './switchyard-function.js';

export interface EcrTriggerProps extends FunctionSettings {
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
  }
}

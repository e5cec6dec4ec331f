import { SendTaskSuccessCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { Workflow } from '../../ports/workflow.js';
import { translateAwsError } from '../aws/errors.js';
import type { Log } from '../../ports/log.js';

/** The release workflow on AWS Step Functions (a Standard state machine). */
export class StepFunctionsWorkflow implements Workflow {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
    private readonly log?: Log,
  ) {}

  /** One execution per name: a duplicate start (same name) is the same execution, not an error. */
  async start(releaseId: string, executionName: string): Promise<void> {
    try {
      await this.client.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: executionName, input: JSON.stringify({ releaseId }) }));
    } catch (error) {
      if (error instanceof Error && error.name === 'ExecutionAlreadyExists') {
        this.log?.info('execution already exists; duplicate start ignored', { releaseId, execution: executionName });
        return;
      }
      throw translateAwsError(error, 'states:StartExecution', this.stateMachineArn);
    }
  }

  async sendTaskSuccess(taskToken: string, output: Record<string, unknown>): Promise<void> {
    try {
      await this.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    } catch (error) {
      // The task already ended (timed out, or completed by a concurrent click): nothing to wake.
      if (error instanceof Error && ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'].includes(error.name)) {
        this.log?.warn('callback already closed', { reason: error.name });
        return;
      }
      throw translateAwsError(error, 'states:SendTaskSuccess', this.stateMachineArn);
    }
  }
}

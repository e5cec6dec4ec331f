import { SendTaskSuccessCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { Workflow } from '../../ports/workflow.js';
import { translateAwsError } from '../aws/errors.js';
import { ConflictError } from '../../core/errors.js';
import type { Log } from '../../ports/log.js';

/** The release workflow on AWS Step Functions (a Standard state machine). */
export class StepFunctionsWorkflow implements Workflow {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
    private readonly log?: Log,
  ) {}

  /**
   * Starts the release's execution. Step Functions answers a repeated start of a running execution
   * with the same input as a success; a name it already knows otherwise (closed executions keep
   * their name for 90 days) is ExecutionAlreadyExists, which is an error here, never a no-op: the
   * caller fails the release instead of leaving it waiting for a workflow that will never run.
   */
  async start(releaseId: string, executionName: string): Promise<void> {
    try {
      await this.client.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: executionName, input: JSON.stringify({ releaseId }) }));
    } catch (error) {
      if (error instanceof Error && error.name === 'ExecutionAlreadyExists') {
        throw new ConflictError(
          `Step Functions already has an execution named ${executionName} (names are kept 90 days after an execution closes): ${error.message}`,
          { cause: error },
        );
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

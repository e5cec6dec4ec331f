import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand, type StartExecutionCommandInput } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { ExecutionAlreadyExistsError, type LocalEngine } from '../../src/adapters/local-stepfunctions/local-engine.js';

/**
 * Step Functions behind the SDK, for the AWS adapter: StartExecution and SendTaskSuccess answered
 * by the local engine running the same definition, with Step Functions' name rule (a known name is
 * refused unless running with the same input; closed names stay taken 90 days) and its error shape.
 */
export class FakeStepFunctions {
  readonly sfn = mockClient(SFNClient);
  readonly starts: { name: string; releaseId: string; outcome: 'started' | 'refused' | 'failed' }[] = [];
  /** Errors the next StartExecution calls answer with (throttling, an outage), in order. */
  readonly failures: Error[] = [];

  constructor(private readonly engine: LocalEngine) {
    this.sfn.on(StartExecutionCommand).callsFake((input: StartExecutionCommandInput) => this.start(input));
    this.sfn.on(SendTaskSuccessCommand).callsFake(async (input: { taskToken: string; output: string }) => {
      await this.engine.sendTaskSuccess(input.taskToken, JSON.parse(input.output) as Record<string, unknown>);
      return {};
    });
  }

  get client(): SFNClient {
    return this.sfn as unknown as SFNClient;
  }

  private async start({ name = '', input = '{}' }: StartExecutionCommandInput) {
    const { releaseId } = JSON.parse(input) as { releaseId: string };
    const failure = this.failures.shift();
    if (failure) {
      this.starts.push({ name, releaseId, outcome: 'failed' });
      throw failure;
    }
    try {
      await this.engine.start(releaseId, name);
    } catch (error) {
      if (!(error instanceof ExecutionAlreadyExistsError)) throw error;
      this.starts.push({ name, releaseId, outcome: 'refused' });
      throw Object.assign(new Error(`Execution Already Exists: '${name}'`), {
        name: 'ExecutionAlreadyExists',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
    }
    this.starts.push({ name, releaseId, outcome: 'started' });
    return { executionArn: `arn:aws:states:eu-west-1:123456789012:execution:release:${name}`, startDate: new Date() };
  }
}

import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand, type StartExecutionCommandInput } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { ExecutionAlreadyExistsError, LocalEngine } from '../../src/adapters/local-stepfunctions/local-engine.js';
import type { LocalDynamo } from '../../src/adapters/dynamodb/dynalite.js';
import { createAwsRuntime } from '../../src/composition/aws.js';
import type { SwitchyardConfig } from '../../src/config/config.js';
import { systemClock, type Clock, type VirtualClock } from '../../src/ports/clock.js';
import { silentLog } from '../../src/ports/log.js';
import { MemoryDriver, ScriptedMetrics } from './memory-driver.js';

/**
 * Step Functions behind the SDK, for the AWS adapter: StartExecution and SendTaskSuccess answered
 * by the local engine running the same definition, with Step Functions' name rule (a known name is
 * refused unless running with the same input; closed names stay taken 90 days) and its error shape.
 */
export class FakeStepFunctions {
  readonly sfn = mockClient(SFNClient);
  readonly starts: { name: string; releaseId: string; outcome: 'started' | 'refused' | 'failed' }[] = [];
  /** Tokens SendTaskSuccess refused because their task had ended. */
  readonly refusedTokens: string[] = [];
  /** Errors the next StartExecution calls answer with (throttling, an outage), in order. */
  readonly failures: Error[] = [];

  constructor(private readonly engine: LocalEngine) {
    this.sfn.on(StartExecutionCommand).callsFake((input: StartExecutionCommandInput) => this.start(input));
    this.sfn.on(SendTaskSuccessCommand).callsFake(async (input: { taskToken: string; output: string }) => {
      // Step Functions' refusal of a token whose task already ended (completed, or its timeout passed).
      if (this.engine.isClosed(input.taskToken)) {
        this.refusedTokens.push(input.taskToken);
        throw Object.assign(new Error('Task Timed Out: the task associated with the token has already been closed'), {
          name: 'TaskTimedOut',
          $metadata: { httpStatusCode: 400 },
        });
      }
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

/**
 * The AWS wiring (DynamoDB store, the Step Functions adapter) on the local interpreter behind the
 * fake, with a memory driver: what the engine does on AWS, without AWS.
 */
export function awsRuntimeOnFake(options: {
  readonly config: SwitchyardConfig;
  readonly dynamo: LocalDynamo;
  readonly clock?: Clock;
  readonly virtualClock?: VirtualClock;
  readonly driver?: MemoryDriver;
  readonly metrics?: ScriptedMetrics;
}) {
  const engine = new LocalEngine({ ...(options.virtualClock ? { virtualClock: options.virtualClock } : {}), retryIntervalMs: 1 });
  const sfn = new FakeStepFunctions(engine);
  const driver = options.driver ?? new MemoryDriver();
  const metrics = options.metrics ?? new ScriptedMetrics();
  const runtime = createAwsRuntime({
    config: options.config,
    tableName: options.dynamo.tableName,
    stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Switchyard-release',
    clients: { dynamodb: options.dynamo.client, sfn: sfn.client },
    log: silentLog,
    clock: options.virtualClock ?? options.clock ?? systemClock,
    adapters: () => ({ driver, metrics }),
  });
  engine.bind((input) => runtime.handlers.run(input));
  const close = async () => {
    await engine.stop();
    sfn.sfn.restore();
  };
  return { runtime, engine, sfn, driver, metrics, close };
}

import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { StepFunctionsWorkflow } from '../../../src/adapters/stepfunctions/sfn-workflow.js';
import { ConflictError, TransientError } from '../../../src/core/errors.js';

const sfn = mockClient(SFNClient);
beforeEach(() => {
  sfn.reset();
});

describe('Step Functions workflow', () => {
  const workflow = () => new StepFunctionsWorkflow(sfn as unknown as SFNClient, 'arn:aws:states:eu-west-1:123456789012:stateMachine:Switchyard-release');
  it('starts one execution per release with the release id as input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'x' });
    await workflow().start('r-1', 'checkout-abc123');
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Switchyard-release',
      name: 'checkout-abc123',
      input: '{"releaseId":"r-1"}',
    });
  });
  it('a name Step Functions already knows is an error the caller must act on (never a silent no-op); throttling is transient', async () => {
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' }));
    const refused = await workflow()
      .start('r-1', 'n')
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConflictError);
    expect((refused as Error).message).toMatch(/already has an execution named n \(names are kept 90 days/);
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    await expect(workflow().start('r-1', 'n')).rejects.toBeInstanceOf(TransientError);
  });
  it('completes callbacks with SendTaskSuccess; a timed-out task is ignored', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    await workflow().sendTaskSuccess('tok', { decision: 'approved' });
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({ taskToken: 'tok', output: '{"decision":"approved"}' });
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('timed out'), { name: 'TaskTimedOut' }));
    await expect(workflow().sendTaskSuccess('tok', {})).resolves.toBeUndefined();
  });
});

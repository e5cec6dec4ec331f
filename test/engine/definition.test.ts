import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { buildDefinition, STATE, STATE_TASKS, TRANSIENT_ERRORS } from '../../src/workflow/definition.js';

describe('the workflow definition', () => {
  const definition = buildDefinition({ functionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:switchyard-workflow' });
  const states = definition['States'] as Record<string, Record<string, unknown>>;

  it('is valid Amazon States Language', () => {
    const { isValid, errorsText } = aslValidator(structuredClone(definition) as never);
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  it('every task retries transient errors with backoff and falls back to Recover', () => {
    for (const state of Object.keys(STATE_TASKS).filter((s) => s !== STATE.recover)) {
      const s = states[state];
      expect(s?.['Retry']).toEqual([expect.objectContaining({ ErrorEquals: [...TRANSIENT_ERRORS], BackoffRate: 2, JitterStrategy: 'FULL' })]);
      expect(s?.['Catch']).toEqual(expect.arrayContaining([{ ErrorEquals: ['States.ALL'], ResultPath: `$.failure.${state}`, Next: STATE.recover }]));
    }
  });

  it('approvals wait for a task token with the timeout from the plan, and a timeout goes to ApprovalTimedOut', () => {
    const approval = states[STATE.requestApproval];
    expect(approval?.['Resource']).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(approval?.['TimeoutSecondsPath']).toBe('$.Payload.timeoutSeconds');
    expect(states[STATE.prepareApproval]?.['Parameters']).toMatchObject({ Payload: { 'timeoutSeconds.$': '$.action.timeoutSeconds' } });
    expect((approval?.['Parameters'] as { Payload: Record<string, string> }).Payload['taskToken.$']).toBe('$$.Task.Token');
    expect((approval?.['Catch'] as { ErrorEquals: string[]; Next: string }[])[0]).toMatchObject({ ErrorEquals: ['States.Timeout'], Next: STATE.approvalTimedOut });
  });

  it('waits with a Wait state on the decided timestamp, never a polling task', () => {
    expect(states[STATE.wait]).toEqual({ Type: 'Wait', TimestampPath: '$.action.until', Next: STATE.decide });
  });

  it('uses the given function ARN for every task', () => {
    const arns = Object.values(states).flatMap((s) => (s['Type'] === 'Task' ? [s['Resource'] === 'arn:aws:states:::lambda:invoke.waitForTaskToken' ? (s['Parameters'] as { FunctionName: string }).FunctionName : s['Resource']] : []));
    expect(new Set(arns)).toEqual(new Set(['arn:aws:lambda:eu-west-1:111122223333:function:switchyard-workflow']));
  });
});

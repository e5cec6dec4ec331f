import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { ALL_PHASES } from '../../src/core/phases.js';
import { buildDefinition, TRANSIENT_ERRORS } from '../../src/workflow/definition.js';
import { CALLBACK_STATES, ROUTES, State as STATE, TASK_STATES } from '../../src/workflow/protocol.js';

describe('the workflow definition', () => {
  const definition = buildDefinition({ functionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:switchyard-workflow' });
  const states = definition['States'] as Record<string, Record<string, unknown>>;

  it('is valid Amazon States Language', () => {
    const { isValid, errorsText } = aslValidator(structuredClone(definition) as never);
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  it('every task retries transient errors with backoff and falls back to Recover', () => {
    for (const state of Object.keys(TASK_STATES).filter((s) => s !== STATE.recover)) {
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
    expect((approval?.['Catch'] as { ErrorEquals: string[]; Next: string }[])[0]).toMatchObject({
      ErrorEquals: ['States.Timeout'],
      Next: STATE.approvalTimedOut,
    });
  });

  it('waits on a callback a steer can complete, timing out at the decided time back into Decide, never a polling task', () => {
    expect(states[STATE.prepareWait]).toMatchObject({ Type: 'Pass', Parameters: { Payload: { 'timeoutSeconds.$': '$.action.seconds' } }, Next: STATE.wait });
    const wait = states[STATE.wait];
    expect(wait).toMatchObject({ Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken', TimeoutSecondsPath: '$.Payload.timeoutSeconds' });
    expect((wait?.['Parameters'] as { Payload: Record<string, string> }).Payload).toMatchObject({ task: 'wait', 'taskToken.$': '$$.Task.Token' });
    // Its timeout is the normal end of a wait: it goes back to Decide, not to Recover.
    expect((wait?.['Catch'] as { ErrorEquals: string[]; Next: string }[])[0]).toEqual({
      ErrorEquals: ['States.Timeout'],
      ResultPath: null,
      Next: STATE.decide,
    });
    expect(wait?.['Next']).toBe(STATE.decide);
  });

  it('uses the given function ARN for every task', () => {
    const arns = Object.values(states).flatMap((s) =>
      s['Type'] === 'Task'
        ? [s['Resource'] === 'arn:aws:states:::lambda:invoke.waitForTaskToken' ? (s['Parameters'] as { FunctionName: string }).FunctionName : s['Resource']]
        : [],
    );
    expect(new Set(arns)).toEqual(new Set(['arn:aws:lambda:eu-west-1:111122223333:function:switchyard-workflow']));
  });

  it('routes every action type decide can return to its state, and nothing else', () => {
    const choices = (states[STATE.route]?.['Choices'] as { Variable: string; StringEquals: string; Next: string }[]).map((c) => [c.StringEquals, c.Next]);
    expect(Object.fromEntries(choices)).toEqual(ROUTES);
    expect(choices).toHaveLength(Object.keys(ROUTES).length);
    for (const [, next] of choices) expect(states[next!]).toBeDefined();
  });

  it('each task state passes the task the protocol names for it', () => {
    for (const [state, task] of Object.entries(TASK_STATES)) expect((states[state]?.['Parameters'] as { task: string }).task).toBe(task);
    for (const [state, task] of Object.entries(CALLBACK_STATES))
      expect((states[state]?.['Parameters'] as { Payload: { task: string } }).Payload.task).toBe(task);
  });

  it('the end states compare with the succeeded phase, a real phase name', () => {
    for (const state of [STATE.finished, STATE.recoveredEnd]) {
      const [choice] = states[state]?.['Choices'] as { StringEquals: string; Next: string }[];
      expect(choice).toMatchObject({ StringEquals: 'succeeded', Next: STATE.released });
      expect(ALL_PHASES).toContain(choice?.StringEquals);
    }
  });

  it('a recovery still waiting for the target loops through RecoverWait back to Recover; only then does the release end', () => {
    const [waiting] = states[STATE.recovered]?.['Choices'] as { Variable: string; IsPresent: boolean; Next: string }[];
    expect(waiting).toEqual({ Variable: '$.recovered.waitSeconds', IsPresent: true, Next: STATE.prepareRecoverWait });
    expect(states[STATE.recovered]?.['Default']).toBe(STATE.recoveredEnd);
    expect(states[STATE.prepareRecoverWait]?.['Next']).toBe(STATE.recoverWait);
    expect(states[STATE.recoverWait]?.['Next']).toBe(STATE.recover);
    expect(states[STATE.recoverWait]?.['Catch']).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: STATE.recover }]);
  });
});

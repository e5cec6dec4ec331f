import { Phase } from '../core/phases.js';
import { ROUTES, State, type StateName, type TaskName } from './protocol.js';

/**
 * The release workflow as one Amazon States Language definition (Standard, JSONPath). The CDK
 * stack deploys it verbatim and the local engine runs it verbatim: one durable loop of
 * Decide -> act / wait / wait for approval -> Decide, with a catch-all that restores the stable version.
 */

/** Errors worth retrying with backoff: throttling, timeouts, Lambda service hiccups, write races. */
export const TRANSIENT_ERRORS = [
  'TransientError',
  'ConflictError',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/** A placeholder function ARN for the local engine, which overrides every task by state name. */
const LOCAL_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:switchyard-workflow';

export interface DefinitionOptions {
  /** ARN of the workflow Lambda (a CDK token in the stack). */
  readonly functionArn?: string;
  /** Seconds each ordinary task may run; deploy and finalize wait for readiness and draining. */
  readonly taskTimeoutSeconds?: number;
  readonly longTaskTimeoutSeconds?: number;
  /** The AWS partition of the callback integration's ARN (a CDK token in the stack). @default 'aws' */
  readonly partition?: string;
}

type Json = Record<string, unknown>;

/** A Task state that invokes the workflow function with `{ task, releaseId, ...parameters }`. */
interface TaskStateOptions {
  /** The state's name; a caught error lands under it (`$.failure.<state>`), so Recover can say where. */
  readonly state: StateName;
  readonly task: TaskName;
  readonly next: StateName;
  /** Extra fields of the task's input, as JSONPath parameters (`'action.$': '$.action'`). */
  readonly parameters?: Json;
  /** Where the task's result goes; `null` keeps the state input as it was. @default null */
  readonly resultPath?: string | null;
  /** @default the definition's taskTimeoutSeconds */
  readonly timeoutSeconds?: number;
  /** Attempts after the first, for transient errors. @default 4 */
  readonly retries?: number;
}

export function buildDefinition({
  functionArn = LOCAL_FUNCTION_ARN,
  taskTimeoutSeconds = 120,
  longTaskTimeoutSeconds = 900,
  partition = 'aws',
}: DefinitionOptions = {}): Json {
  const retry = (attempts = 4): Json[] => [
    { ErrorEquals: [...TRANSIENT_ERRORS], IntervalSeconds: 1, MaxAttempts: attempts, BackoffRate: 2, MaxDelaySeconds: 30, JitterStrategy: 'FULL' },
  ];
  const toRecover = (state: StateName): Json => ({ ErrorEquals: ['States.ALL'], ResultPath: `$.failure.${state}`, Next: State.recover });
  const task = ({ state, task, next, parameters = {}, resultPath = null, timeoutSeconds = taskTimeoutSeconds, retries = 4 }: TaskStateOptions): Json => ({
    Type: 'Task',
    Resource: functionArn,
    Parameters: { task, 'releaseId.$': '$.releaseId', ...parameters },
    ResultPath: resultPath,
    TimeoutSeconds: timeoutSeconds,
    Retry: retry(retries),
    Catch: [toRecover(state)],
    Next: next,
  });
  /** A wait as a callback (the wait task registers its token, a steer completes it; else its timeout ends it), then `next`. */
  const waitState = (next: StateName, Catch: Json[]): Json => ({
    Type: 'Task',
    Resource: `arn:${partition}:states:::lambda:invoke.waitForTaskToken`,
    Parameters: {
      FunctionName: functionArn,
      Payload: {
        task: 'wait' satisfies TaskName,
        'releaseId.$': '$.releaseId',
        'until.$': '$.action.until',
        'timeoutSeconds.$': '$.Payload.timeoutSeconds',
        'taskToken.$': '$$.Task.Token',
      },
    },
    TimeoutSecondsPath: '$.Payload.timeoutSeconds',
    ResultPath: null,
    Retry: retry(),
    Catch,
    Next: next,
  });
  // One choice per action type, generated from ROUTES: nothing `decide` returns goes unrouted.
  const routes = Object.entries(ROUTES).map(([type, next]) => ({ Variable: '$.action.type', StringEquals: type, Next: next }));
  const ended = (variable: string): Json => ({
    Type: 'Choice',
    Choices: [{ Variable: variable, StringEquals: Phase.succeeded, Next: State.released }],
    Default: State.notReleased,
  });

  return {
    Comment: 'Switchyard release: decide -> act / wait / wait for approval -> decide, until the release ends',
    StartAt: State.decide,
    States: {
      // The loop: Decide says what to do next, Route goes there, every branch comes back to Decide.
      [State.decide]: task({ state: State.decide, task: 'decide', next: State.route, resultPath: '$.action' }),
      [State.route]: { Type: 'Choice', Choices: routes, Default: State.unknownAction },
      [State.deploy]: task({ state: State.deploy, task: 'deploy', next: State.decide, timeoutSeconds: longTaskTimeoutSeconds }),
      [State.shift]: task({ state: State.shift, task: 'shift', next: State.decide, parameters: { 'action.$': '$.action' } }),
      // Step Functions resolves TimeoutSecondsPath against the state input, aws-local-stepfunctions
      // against the effective Parameters; putting the timeout at $.Payload in both makes one path work.
      // Waits are callbacks, not Wait states: a rollback or promote asked mid-bake completes the token
      // and the workflow decides at once; otherwise the timeout ends the wait (two transitions, whatever its length).
      [State.prepareWait]: {
        Type: 'Pass',
        Parameters: { 'releaseId.$': '$.releaseId', 'action.$': '$.action', Payload: { 'timeoutSeconds.$': '$.action.seconds' } },
        Next: State.wait,
      },
      [State.wait]: waitState(State.decide, [{ ErrorEquals: ['States.Timeout'], ResultPath: null, Next: State.decide }, toRecover(State.wait)]),
      [State.prepareApproval]: {
        Type: 'Pass',
        Parameters: { 'releaseId.$': '$.releaseId', 'action.$': '$.action', Payload: { 'timeoutSeconds.$': '$.action.timeoutSeconds' } },
        Next: State.requestApproval,
      },
      [State.requestApproval]: {
        Type: 'Task',
        Resource: `arn:${partition}:states:::lambda:invoke.waitForTaskToken`,
        Parameters: {
          FunctionName: functionArn,
          Payload: {
            task: 'requestApproval' satisfies TaskName,
            'releaseId.$': '$.releaseId',
            'approvalId.$': '$.action.approvalId',
            'timeoutSeconds.$': '$.action.timeoutSeconds',
            'taskToken.$': '$$.Task.Token',
          },
        },
        TimeoutSecondsPath: '$.Payload.timeoutSeconds',
        ResultPath: null,
        Retry: retry(),
        Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.timedOut', Next: State.approvalTimedOut }, toRecover(State.requestApproval)],
        Next: State.decide,
      },
      [State.approvalTimedOut]: task({ state: State.approvalTimedOut, task: 'approvalTimedOut', next: State.decide }),
      // Rolling back must get through: more attempts before the catch-all takes over.
      [State.rollback]: task({ state: State.rollback, task: 'rollback', next: State.decide, timeoutSeconds: longTaskTimeoutSeconds, retries: 8 }),
      [State.finalize]: task({ state: State.finalize, task: 'finalize', next: State.decide, timeoutSeconds: longTaskTimeoutSeconds }),
      // Long releases hand over to a new execution (the next generation) to stay inside Step Functions' limits.
      [State.continueAsNew]: task({
        state: State.continueAsNew,
        task: 'continueAsNew',
        next: State.continued,
        parameters: { 'generation.$': '$.action.generation' },
      }),
      [State.continued]: { Type: 'Succeed' },
      // The end: `done` carries the release's final phase.
      [State.finished]: ended('$.action.phase'),
      [State.released]: { Type: 'Succeed' },
      [State.notReleased]: {
        Type: 'Fail',
        Error: 'Switchyard.NotReleased',
        Cause: 'The release ended without shipping the new version; its timeline says why.',
      },
      [State.unknownAction]: {
        Type: 'Pass',
        Result: { Error: 'Switchyard.UnknownAction', Cause: 'decide returned an action this workflow does not know' },
        ResultPath: `$.failure.${State.route}`,
        Next: State.recover,
      },
      // The catch-all: whatever failed, Recover restores the stable version and ends the release.
      [State.recover]: {
        ...task({
          state: State.recover,
          task: 'recover',
          next: State.recovered,
          parameters: { 'state.$': '$' },
          resultPath: '$.recovered',
          timeoutSeconds: longTaskTimeoutSeconds,
        }),
        Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2, MaxDelaySeconds: 60, JitterStrategy: 'FULL' }],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.recoveryError', Next: State.recoveryFailed }],
      },
      // The target is still on its way back: wait (a callback, like Wait, so the local engine's clock
      // jumps too), then Recover asks again. Otherwise the error may have struck after the driver
      // finished the release: then it did ship.
      [State.recovered]: {
        Type: 'Choice',
        Choices: [{ Variable: '$.recovered.waitSeconds', IsPresent: true, Next: State.prepareRecoverWait }],
        Default: State.recoveredEnd,
      },
      [State.recoveredEnd]: ended('$.recovered.phase'),
      [State.prepareRecoverWait]: {
        Type: 'Pass',
        Parameters: {
          'releaseId.$': '$.releaseId',
          'failure.$': '$.failure',
          action: { type: 'wait', 'until.$': '$.recovered.until' },
          Payload: { 'timeoutSeconds.$': '$.recovered.waitSeconds' },
        },
        Next: State.recoverWait,
      },
      [State.recoverWait]: waitState(State.recover, [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: State.recover }]),
      [State.recoveryFailed]: {
        Type: 'Fail',
        Error: 'Switchyard.RecoveryFailed',
        Cause: 'The stable version could not be confirmed restored; check the service and the release timeline.',
      },
    },
  };
}

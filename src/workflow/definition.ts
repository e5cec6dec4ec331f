import type { TaskName } from '../engine/handlers.js';

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

export const STATE = {
  decide: 'Decide',
  route: 'Route',
  deploy: 'Deploy',
  shift: 'Shift',
  wait: 'Wait',
  prepareApproval: 'PrepareApproval',
  requestApproval: 'RequestApproval',
  approvalTimedOut: 'ApprovalTimedOut',
  rollback: 'Rollback',
  finalize: 'Finalize',
  finished: 'Finished',
  released: 'Released',
  notReleased: 'NotReleased',
  unknownAction: 'UnknownAction',
  recover: 'Recover',
  recovered: 'Recovered',
  recoveryFailed: 'RecoveryFailed',
} as const;

/** Which task each Task state runs (the local engine maps state names to handlers with this). */
export const STATE_TASKS: Readonly<Record<string, TaskName>> = {
  [STATE.decide]: 'decide',
  [STATE.deploy]: 'deploy',
  [STATE.shift]: 'shift',
  [STATE.requestApproval]: 'requestApproval',
  [STATE.approvalTimedOut]: 'approvalTimedOut',
  [STATE.rollback]: 'rollback',
  [STATE.finalize]: 'finalize',
  [STATE.recover]: 'recover',
};

export interface DefinitionOptions {
  /** ARN of the workflow Lambda (a CDK token in the stack). */
  readonly functionArn?: string;
  /** Seconds each ordinary task may run; deploy and finalize wait for readiness and draining. */
  readonly taskTimeoutSeconds?: number;
  readonly longTaskTimeoutSeconds?: number;
}

type Json = Record<string, unknown>;

export function buildDefinition({ functionArn = LOCAL_FUNCTION_ARN, taskTimeoutSeconds = 120, longTaskTimeoutSeconds = 900 }: DefinitionOptions = {}): Json {
  const retry = (attempts = 4): Json[] => [
    { ErrorEquals: [...TRANSIENT_ERRORS], IntervalSeconds: 1, MaxAttempts: attempts, BackoffRate: 2, MaxDelaySeconds: 30, JitterStrategy: 'FULL' },
  ];
  // The caught error lands under the failing state's name, so Recover can say where it happened.
  const toRecover = (state: string): Json => ({ ErrorEquals: ['States.ALL'], ResultPath: `$.failure.${state}`, Next: STATE.recover });
  const task = (state: string, taskName: TaskName, extra: Json, next: string, timeout = taskTimeoutSeconds, attempts = 4): Json => ({
    Type: 'Task',
    Resource: functionArn,
    Parameters: { task: taskName, 'releaseId.$': '$.releaseId', ...extra },
    ResultPath: null,
    TimeoutSeconds: timeout,
    Retry: retry(attempts),
    Catch: [toRecover(state)],
    Next: next,
  });
  const route = (type: string, next: string): Json => ({ Variable: '$.action.type', StringEquals: type, Next: next });

  return {
    Comment: 'Switchyard release: decide -> act / wait / wait for approval -> decide, until the release ends',
    StartAt: STATE.decide,
    States: {
      [STATE.decide]: { ...task(STATE.decide, 'decide', {}, STATE.route), ResultPath: '$.action' },
      [STATE.route]: {
        Type: 'Choice',
        Choices: [
          route('deploy', STATE.deploy),
          route('shift', STATE.shift),
          route('wait', STATE.wait),
          route('approval', STATE.prepareApproval),
          route('rollback', STATE.rollback),
          route('finalize', STATE.finalize),
          route('done', STATE.finished),
        ],
        Default: STATE.unknownAction,
      },
      [STATE.deploy]: task(STATE.deploy, 'deploy', {}, STATE.decide, longTaskTimeoutSeconds),
      [STATE.shift]: task(STATE.shift, 'shift', { 'action.$': '$.action' }, STATE.decide),
      [STATE.wait]: { Type: 'Wait', TimestampPath: '$.action.until', Next: STATE.decide },
      // Step Functions resolves TimeoutSecondsPath against the state input, aws-local-stepfunctions
      // against the effective Parameters; putting the timeout at $.Payload in both makes one path work.
      [STATE.prepareApproval]: {
        Type: 'Pass',
        Parameters: { 'releaseId.$': '$.releaseId', 'action.$': '$.action', Payload: { 'timeoutSeconds.$': '$.action.timeoutSeconds' } },
        Next: STATE.requestApproval,
      },
      [STATE.requestApproval]: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Parameters: {
          FunctionName: functionArn,
          Payload: {
            task: 'requestApproval',
            'releaseId.$': '$.releaseId',
            'approvalId.$': '$.action.approvalId',
            'timeoutSeconds.$': '$.action.timeoutSeconds',
            'taskToken.$': '$$.Task.Token',
          },
        },
        TimeoutSecondsPath: '$.Payload.timeoutSeconds',
        ResultPath: null,
        Retry: retry(),
        Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.timedOut', Next: STATE.approvalTimedOut }, toRecover(STATE.requestApproval)],
        Next: STATE.decide,
      },
      [STATE.approvalTimedOut]: task(STATE.approvalTimedOut, 'approvalTimedOut', {}, STATE.decide),
      // Rolling back must get through: more attempts before the catch-all takes over.
      [STATE.rollback]: task(STATE.rollback, 'rollback', {}, STATE.decide, longTaskTimeoutSeconds, 8),
      [STATE.finalize]: task(STATE.finalize, 'finalize', {}, STATE.decide, longTaskTimeoutSeconds),
      [STATE.finished]: {
        Type: 'Choice',
        Choices: [{ Variable: '$.action.phase', StringEquals: 'succeeded', Next: STATE.released }],
        Default: STATE.notReleased,
      },
      [STATE.released]: { Type: 'Succeed' },
      [STATE.notReleased]: { Type: 'Fail', Error: 'Switchyard.NotReleased', Cause: 'The release ended without shipping the new version; its timeline says why.' },
      [STATE.unknownAction]: {
        Type: 'Pass',
        Result: { Error: 'Switchyard.UnknownAction', Cause: 'decide returned an action this workflow does not know' },
        ResultPath: `$.failure.${STATE.route}`,
        Next: STATE.recover,
      },
      [STATE.recover]: {
        Type: 'Task',
        Resource: functionArn,
        Parameters: { task: 'recover', 'releaseId.$': '$.releaseId', 'state.$': '$' },
        ResultPath: '$.recovered',
        TimeoutSeconds: longTaskTimeoutSeconds,
        Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2, MaxDelaySeconds: 60, JitterStrategy: 'FULL' }],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.recoveryError', Next: STATE.recoveryFailed }],
        Next: STATE.recovered,
      },
      // The error may have struck after the driver finished the release: then it did ship.
      [STATE.recovered]: {
        Type: 'Choice',
        Choices: [{ Variable: '$.recovered.phase', StringEquals: 'succeeded', Next: STATE.released }],
        Default: STATE.notReleased,
      },
      [STATE.recoveryFailed]: { Type: 'Fail', Error: 'Switchyard.RecoveryFailed', Cause: 'The stable version could not be confirmed restored; check the service and the release timeline.' },
    },
  };
}

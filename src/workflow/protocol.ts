import type { Action, ActionType } from '../core/decide.js';
import type { Phase } from '../core/phases.js';

/**
 * The protocol between the release state machine and the task handlers: the states' names, where
 * each action of `decide` goes, and what each task receives and returns. The definition
 * (./definition.ts), the workflow Lambda, the local engine and the handlers all speak it, so a
 * message that crosses the seam is a type, never a string agreed on by habit.
 */

export const State = {
  decide: 'Decide',
  route: 'Route',
  deploy: 'Deploy',
  shift: 'Shift',
  prepareWait: 'PrepareWait',
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
  recoveredEnd: 'RecoveredEnd',
  prepareRecoverWait: 'PrepareRecoverWait',
  recoverWait: 'RecoverWait',
  continueAsNew: 'ContinueAsNew',
  continued: 'Continued',
} as const;

export type StateName = (typeof State)[keyof typeof State];

/**
 * Where the Route state sends each action `decide` returns. Typed as a record over every action
 * type: a new `Action` variant does not compile until it is routed here (test/workflow/routes.type-test.ts).
 */
export const ROUTES = {
  deploy: State.deploy,
  shift: State.shift,
  wait: State.prepareWait,
  approval: State.prepareApproval,
  rollback: State.rollback,
  finalize: State.finalize,
  done: State.finished,
  continue: State.continueAsNew,
} as const satisfies Record<ActionType, StateName>;

/** The action of one type, as the state machine carries it at `$.action`. */
export type ActionOf<T extends ActionType> = Extract<Action, { type: T }>;

/** The error the state machine caught, under the name of the state where it happened. */
export interface CaughtError {
  readonly Error?: string;
  readonly Cause?: string;
}

/** What each task receives: one variant per task, told apart by `task`. */
export type TaskInput =
  | { readonly task: 'decide'; readonly releaseId: string }
  | { readonly task: 'deploy'; readonly releaseId: string }
  | { readonly task: 'shift'; readonly releaseId: string; readonly action: ActionOf<'shift'> }
  | { readonly task: 'requestApproval'; readonly releaseId: string; readonly approvalId: string; readonly timeoutSeconds: number; readonly taskToken: string }
  | { readonly task: 'approvalTimedOut'; readonly releaseId: string }
  /** The workflow waits (a bake, a gate interval, a target's own timer) on a callback a person's steer completes. */
  | { readonly task: 'wait'; readonly releaseId: string; readonly until: string; readonly timeoutSeconds: number; readonly taskToken: string }
  | { readonly task: 'rollback'; readonly releaseId: string }
  | { readonly task: 'finalize'; readonly releaseId: string }
  | { readonly task: 'continueAsNew'; readonly releaseId: string; readonly generation: number }
  | {
      readonly task: 'recover';
      readonly releaseId: string;
      /** The whole execution state: the action being done and the caught error. */
      readonly state: { readonly action?: Action; readonly failure?: Readonly<Record<string, CaughtError>> };
    };

export type TaskName = TaskInput['task'];
export type TaskInputOf<N extends TaskName> = Extract<TaskInput, { task: N }>;

/** What each task returns to the state machine. */
export interface TaskOutputs {
  readonly decide: Action;
  readonly deploy: void;
  readonly shift: void;
  readonly requestApproval: void;
  readonly approvalTimedOut: void;
  readonly wait: void;
  readonly rollback: void;
  readonly finalize: void;
  readonly continueAsNew: void;
  /** The phase the release is in; `waitSeconds` when the target is still on its way back (RecoverWait, then Recover again). */
  readonly recover: { readonly phase: Phase; readonly waitSeconds?: number; readonly until?: string };
}

/** One handler per task, each typed by its own input and output. */
export type TaskHandlers = { readonly [N in TaskName]: (input: TaskInputOf<N>) => Promise<TaskOutputs[N]> };

/** The one entry point the Lambda and the local engine call with whatever the state machine sent. */
export type TaskRunner = (input: TaskInput) => Promise<TaskOutputs[TaskName]>;

/** The Task states that run a task synchronously (the approval is a callback, below), and which task each runs. */
export const TASK_STATES = {
  [State.decide]: 'decide',
  [State.deploy]: 'deploy',
  [State.shift]: 'shift',
  [State.approvalTimedOut]: 'approvalTimedOut',
  [State.rollback]: 'rollback',
  [State.finalize]: 'finalize',
  [State.continueAsNew]: 'continueAsNew',
  [State.recover]: 'recover',
} as const satisfies Partial<Record<StateName, Exclude<TaskName, CallbackTaskName>>>;

export type TaskStateName = keyof typeof TASK_STATES;

/**
 * Step Functions' limits on one execution, and how the workflow stays inside them: a release
 * continues in a new execution of the same state machine (its next generation) at a safe point
 * (between actions, never while an approval waits) after a budget of decisions or of time.
 * Source: Step Functions quotas (25,000 history events per execution, one year per Standard execution).
 */
export const EXECUTION_LIMITS = {
  maxHistoryEvents: 25_000,
  maxSeconds: 365 * 24 * 3600,
  /**
   * One decision loop costs at most 55 history events, every retry used: Decide (5, plus 3 per retry,
   * 4 retries), Route (2), then the longest way back (an approval that times out: PrepareApproval 2,
   * RequestApproval 17, ApprovalTimedOut 17). 400 loops stay under 22,000, leaving room for Recover
   * and the end states (test/engine/long-releases.test.ts computes this from the definition).
   */
  decisionsPerExecution: 400,
  /** Continue well before the one-year limit; no single wait in a plan is longer than a week. */
  continueAfterSeconds: 300 * 24 * 3600,
} as const;

/** History events Step Functions records for entering a state of each type, and for each retry. */
export const HISTORY_EVENTS = { Task: 5, Choice: 2, Pass: 2, Wait: 3, Succeed: 2, Fail: 1, retry: 3, execution: 2 } as const;

/**
 * The callback states and their tasks: the task stores the execution's token, and the state waits
 * until the API completes it (an approval decided; a steer during a wait) or its timeout passes.
 */
export const CALLBACK_STATES = {
  [State.requestApproval]: 'requestApproval',
  [State.wait]: 'wait',
  [State.recoverWait]: 'wait',
} as const satisfies Partial<Record<StateName, TaskName>>;

export type CallbackTaskName = (typeof CALLBACK_STATES)[keyof typeof CALLBACK_STATES];

/** What completes the approval callback: the decision, as the API or a timeout made it. */
export interface ApprovalCallbackOutput {
  readonly decision: 'approved' | 'rejected' | 'expired' | 'cancelled';
}

const TASK_NAMES: ReadonlySet<string> = new Set<TaskName>([...Object.values(TASK_STATES), ...Object.values(CALLBACK_STATES)]);

/** True when `value` names a task of this protocol (the Lambda checks what it was invoked with). */
export function isTaskName(value: unknown): value is TaskName {
  return typeof value === 'string' && TASK_NAMES.has(value);
}

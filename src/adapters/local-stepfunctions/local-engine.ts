import './polyfills.js';
import { ExecutionAbortedError, StateMachine, type RunOptions } from 'aws-local-stepfunctions';
import { ConflictError, messageOf } from '../../core/errors.js';
import type { Workflow } from '../../ports/workflow.js';
import type { VirtualClock } from '../../ports/clock.js';
import { buildDefinition, type DefinitionOptions } from '../../workflow/definition.js';
import { EXECUTION_LIMITS, HISTORY_EVENTS, State, TASK_STATES, type TaskInput, type TaskInputOf, type TaskRunner } from '../../workflow/protocol.js';
import { silentLog, type Log } from '../../ports/log.js';

export interface LocalEngineOptions {
  /** Jump time at every wait instead of sleeping (tests, benchmarks). */
  readonly virtualClock?: VirtualClock;
  /** Milliseconds between retries of a failed task (default: as the definition says). */
  readonly retryIntervalMs?: number;
  readonly log?: Log;
  /** Task timeouts of the definition (tests shorten them to exercise States.Timeout). */
  readonly definition?: DefinitionOptions;
  /**
   * History events one execution may hold before it fails as Step Functions fails it (default
   * EXECUTION_LIMITS.maxHistoryEvents, AWS's 25,000). Tests scale it down with the decision budget, so a
   * release past one execution's history costs hundreds of decisions instead of thousands.
   */
  readonly maxHistoryEvents?: number;
}

export interface ExecutionRecord {
  readonly name: string;
  readonly releaseId: string;
  /** State transitions so far, as Step Functions bills them (states entered plus retries). */
  transitions: number;
  /** History events so far, counted as Step Functions records them (see HISTORY_EVENTS). */
  historyEvents: number;
  status: 'running' | 'succeeded' | 'failed' | 'aborted';
  /** When the execution closed (epoch ms, on the engine's clock). */
  closedAt?: number;
  error?: string;
  done: Promise<void>;
}

type LocalHandler = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>[string];

interface Callback {
  resolve?: (output: unknown) => void;
  settled?: { output: unknown };
}

/** Step Functions keeps an execution's name for 90 days after it closes (StartExecution: ExecutionAlreadyExists). */
export const NAME_RETENTION_MS = 90 * 24 * 3600_000;

/** Step Functions' refusal of an execution name it already knows, as the local engine reproduces it. */
export class ExecutionAlreadyExistsError extends ConflictError {
  override readonly name = 'ExecutionAlreadyExists';
  constructor(executionName: string, why: string) {
    super(`an execution named ${executionName} ${why}; Step Functions keeps a name for 90 days after its execution closes`);
  }
}

/**
 * Runs the release workflow definition in-process with aws-local-stepfunctions: every Task state
 * is overridden by name with the handler the Lambda runs, callback tasks complete when
 * {@link LocalEngine.sendTaskSuccess} is called, and many executions run at once.
 */
export class LocalEngine implements Workflow {
  readonly definition: Record<string, unknown>;
  private readonly machine: StateMachine;
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly aborts = new Map<string, () => void>();
  private readonly callbacks = new Map<string, Callback>();
  /**
   * Tokens whose task has ended (completed or timed out), newest last: completing one again is a
   * no-op, as Step Functions refuses it (TaskTimedOut) and the adapter ignores that. Bounded.
   */
  private readonly closed = new Set<string>();
  /** Ends each wait in progress (stop() ends them all). */
  private readonly pendingWaits = new Set<() => void>();
  /** Task handlers still running; an abort does not stop them, so stop() waits for them. */
  private readonly inflight = new Set<Promise<unknown>>();
  private runTask: TaskRunner | undefined;
  private readonly log: Log;

  constructor(private readonly options: LocalEngineOptions = {}) {
    this.log = options.log ?? silentLog;
    this.definition = buildDefinition(options.definition);
    this.machine = new StateMachine(this.definition as never, { validationOptions: { checkPaths: true, checkArn: true } });
  }

  /** Connects the task handlers (they need this engine to start queued releases, so they come after it). */
  bind(run: TaskRunner): void {
    this.runTask = run;
  }

  /**
   * Starts one execution per name, with Step Functions' rule for names: starting a name that is
   * running with the same input is the same execution; a name that is closed (Step Functions keeps
   * it 90 days) or running with another input is refused with ExecutionAlreadyExists.
   */
  async start(releaseId: string, executionName: string): Promise<void> {
    const existing = this.executions.get(executionName);
    if (existing) {
      if (existing.status === 'running' && existing.releaseId === releaseId) return;
      if (existing.status === 'running') throw new ExecutionAlreadyExistsError(executionName, 'is running with another input');
      if (this.now() - (existing.closedAt ?? 0) < NAME_RETENTION_MS) throw new ExecutionAlreadyExistsError(executionName, 'has already run');
    }
    const runTask = this.runTask;
    if (!runTask) throw new Error('LocalEngine.bind(run) must be called before start');
    const track = <T>(promise: Promise<T>): Promise<T> => {
      this.inflight.add(promise);
      void promise.finally(() => this.inflight.delete(promise)).catch(() => undefined);
      return promise;
    };
    // The definition's Parameters carry `task`, as they do for the Lambda: the input is the task's input.
    const run: LocalHandler = async (input) => {
      const taskInput = input as unknown as TaskInput;
      const result = await track(runTask(taskInput));
      return (result ?? {}) as Awaited<ReturnType<LocalHandler>>;
    };
    const overrides: Record<string, LocalHandler> = {};
    for (const state of Object.keys(TASK_STATES)) overrides[state] = run;
    overrides[State.requestApproval] = async (input) => {
      const { Payload } = input as unknown as { Payload: TaskInputOf<'requestApproval'> };
      // One execution-wide token from the context, made unique per approval.
      const taskToken = `${Payload.taskToken || executionName}/${Payload.approvalId}`;
      const waiting = this.waitForCallback(taskToken);
      await track(runTask({ ...Payload, taskToken }));
      return (await waiting) as Awaited<ReturnType<LocalHandler>>;
    };
    let waits = 0;
    overrides[State.wait] = overrides[State.recoverWait] = async (input) => {
      const { Payload } = input as unknown as { Payload: TaskInputOf<'wait'> };
      const taskToken = `${Payload.taskToken || executionName}/wait-${++waits}`;
      const woken = this.waitForCallback(taskToken);
      await track(runTask({ ...Payload, taskToken }));
      const clock = this.options.virtualClock;
      // The callback's timeout, as Step Functions applies it: the wait ends at `until` unless woken sooner.
      let timer: NodeJS.Timeout | undefined;
      let end: (() => void) | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        // On a virtual clock the wait jumps time, after a millisecond that lets others write the release too.
        timer = setTimeout(() => resolve('timeout'), clock ? 1 : Math.max(0, Date.parse(Payload.until) - Date.now()));
        end = () => resolve('timeout');
      });
      // A stopped engine does not keep a pending wait (and the process) alive.
      this.pendingWaits.add(end!);
      const first = await Promise.race([woken, timedOut]);
      this.pendingWaits.delete(end!);
      clearTimeout(timer);
      if (first === 'timeout') {
        this.callbacks.delete(taskToken);
        this.close(taskToken);
        clock?.advanceTo(Date.parse(Payload.until));
      }
      return {};
    };
    const retries = this.options.retryIntervalMs;
    const execution = this.machine.run(
      { releaseId },
      {
        overrides: {
          taskResourceLocalHandlers: overrides,
          ...(retries !== undefined ? { retryIntervalOverrides: Object.fromEntries(Object.keys(TASK_STATES).map((s) => [s, retries])) } : {}),
        },
        context: {
          Execution: { Id: `local:${executionName}`, Name: executionName, Input: { releaseId }, StartTime: new Date().toISOString() },
          Task: { Token: `local:${executionName}` },
        },
      },
    );
    this.aborts.set(executionName, execution.abort);
    const record: ExecutionRecord = {
      name: executionName,
      releaseId,
      transitions: 0,
      historyEvents: HISTORY_EVENTS.execution,
      status: 'running',
      done: Promise.resolve(),
    };
    const types = new Map(
      Object.entries(this.definition['States'] as Record<string, { Type: keyof typeof HISTORY_EVENTS }>).map(([name, s]) => [name, s.Type]),
    );
    record.done = (async () => {
      const counting = (async () => {
        for await (const event of execution.eventLogs) {
          if (event.type !== 'StateEntered' && event.type !== 'StateRetried') continue;
          record.transitions++;
          // History as Step Functions keeps it; past its limit the execution fails, uncatchable, as it would there.
          record.historyEvents += event.type === 'StateRetried' ? HISTORY_EVENTS.retry : HISTORY_EVENTS[types.get(event.state.name) ?? 'Task'];
          const maxHistoryEvents = this.options.maxHistoryEvents ?? EXECUTION_LIMITS.maxHistoryEvents;
          if (record.historyEvents > maxHistoryEvents && !record.error) {
            record.error = `States.HistoryLimit: the execution reached ${maxHistoryEvents} history events`;
            execution.abort();
          }
        }
      })();
      try {
        await execution.result;
        record.status = 'succeeded';
      } catch (error) {
        const overflowed = record.error?.startsWith('States.HistoryLimit');
        record.status = error instanceof ExecutionAbortedError && !overflowed ? 'aborted' : 'failed';
        record.error ??= messageOf(error);
      }
      record.closedAt = this.now();
      await counting.catch(() => undefined);
      this.aborts.delete(executionName);
      this.log.info('execution ended', { releaseId, execution: executionName, status: record.status, transitions: record.transitions });
    })();
    this.executions.set(executionName, record);
  }

  private now(): number {
    return this.options.virtualClock?.now() ?? Date.now();
  }

  private waitForCallback(token: string): Promise<unknown> {
    const existing = this.callbacks.get(token);
    if (existing?.settled) {
      this.callbacks.delete(token);
      return Promise.resolve(existing.settled.output);
    }
    return new Promise((resolve) => {
      this.callbacks.set(token, {
        resolve: (output) => {
          this.callbacks.delete(token);
          this.close(token);
          resolve(output);
        },
      });
    });
  }

  private close(token: string): void {
    this.closed.add(token);
    if (this.closed.size > 10_000) this.closed.delete(this.closed.values().next().value as string);
  }

  /** True when the token's task has ended: Step Functions would refuse to complete it (TaskTimedOut). */
  isClosed(taskToken: string): boolean {
    return this.closed.has(taskToken);
  }

  async sendTaskSuccess(taskToken: string, output: Record<string, unknown>): Promise<void> {
    // A steer that arrives after its wait ended wakes nothing, and must not be kept for ever.
    if (this.closed.has(taskToken)) return;
    const waiting = this.callbacks.get(taskToken);
    if (waiting?.resolve) waiting.resolve(output);
    else this.callbacks.set(taskToken, { settled: { output } });
  }

  execution(name: string): ExecutionRecord | undefined {
    return this.executions.get(name);
  }

  /** The release's latest execution (a long release continues in new ones). */
  executionOf(releaseId: string): ExecutionRecord | undefined {
    return this.executionsOf(releaseId).at(-1);
  }

  /** Every execution of a release, oldest first. */
  executionsOf(releaseId: string): ExecutionRecord[] {
    return [...this.executions.values()].filter((e) => e.releaseId === releaseId);
  }

  get running(): ExecutionRecord[] {
    return [...this.executions.values()].filter((e) => e.status === 'running');
  }

  /** Resolves when no execution is running (including ones started while waiting). */
  async idle(): Promise<void> {
    for (;;) {
      const running = this.running;
      if (running.length === 0) return;
      await Promise.all(running.map((e) => e.done));
    }
  }

  /** Stops every execution where it stands (shutdown); releases are recovered at the next start. */
  async stop(): Promise<void> {
    for (const abort of this.aborts.values()) abort();
    for (const end of this.pendingWaits) end();
    await Promise.all([...this.executions.values()].map((e) => e.done));
    // Let running handlers finish their writes, but do not wait forever for a hung one.
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, 2000).unref())]);
  }
}

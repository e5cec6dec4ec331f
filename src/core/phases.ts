import { InvalidActionError } from './errors.js';

/**
 * Release phases and the one pure function that moves a release between them.
 * Terminal phases are final: nothing follows them.
 */
export const Phase = {
  queued: 'queued',
  preparing: 'preparing',
  deploying: 'deploying',
  shifting: 'shifting',
  baking: 'baking',
  awaitingApproval: 'awaiting_approval',
  promoting: 'promoting',
  succeeded: 'succeeded',
  rollingBack: 'rolling_back',
  rolledBack: 'rolled_back',
  failed: 'failed',
  superseded: 'superseded',
  cancelled: 'cancelled',
} as const;

export type Phase = (typeof Phase)[keyof typeof Phase];

export const ALL_PHASES: readonly Phase[] = Object.values(Phase);

const TERMINAL: ReadonlySet<Phase> = new Set<Phase>([Phase.succeeded, Phase.rolledBack, Phase.failed, Phase.superseded, Phase.cancelled]);

/** True for phases that end a release: succeeded, rolled_back, failed, superseded, cancelled. */
export function isTerminal(phase: Phase): boolean {
  return TERMINAL.has(phase);
}

const MOVING: readonly Phase[] = [Phase.deploying, Phase.shifting, Phase.baking, Phase.awaitingApproval, Phase.promoting];

/**
 * Which phase may follow which. Every active phase may start rolling back or fail; only
 * rolling_back may end as rolled_back, so a rollback always passes through the driver.
 */
const ALLOWED: Readonly<Record<Phase, readonly Phase[]>> = {
  queued: [Phase.preparing, Phase.superseded, Phase.cancelled],
  preparing: [Phase.deploying, Phase.rollingBack, Phase.failed, Phase.cancelled],
  deploying: [...MOVING, Phase.rollingBack, Phase.failed],
  shifting: [...MOVING, Phase.rollingBack, Phase.failed],
  baking: [...MOVING, Phase.rollingBack, Phase.failed],
  awaiting_approval: [...MOVING, Phase.rollingBack, Phase.failed],
  promoting: [...MOVING, Phase.succeeded, Phase.rollingBack, Phase.failed],
  rolling_back: [Phase.rolledBack, Phase.failed, Phase.cancelled],
  succeeded: [],
  rolled_back: [],
  failed: [],
  superseded: [],
  cancelled: [],
};

/** Raised when a phase change is not allowed; the release is left as it was. */
export class IllegalTransitionError extends InvalidActionError {
  override readonly name: string = 'IllegalTransitionError';
  constructor(
    readonly from: Phase,
    readonly to: Phase,
  ) {
    super(isTerminal(from) ? `release is already ${from}; a finished release cannot become ${to}` : `a release cannot go from ${from} to ${to}`);
  }
}

/** True when `to` may follow `from`. Staying in the same active phase is allowed. */
export function canTransition(from: Phase, to: Phase): boolean {
  if (from === to) return !isTerminal(from);
  return ALLOWED[from].includes(to);
}

/** Returns `to` when the move is legal, throws {@link IllegalTransitionError} otherwise. */
export function transition(from: Phase, to: Phase): Phase {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
  return to;
}

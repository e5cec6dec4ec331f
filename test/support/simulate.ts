import {
  beginRollback,
  markDeployed,
  markFinalized,
  markRolledBack,
  markShifted,
  recordApproval,
  requestPromote,
  requestRollback,
} from '../../src/core/transitions.js';
import { decide, gatesToObserve, type Action } from '../../src/core/decide.js';
import { offeredDecisions } from '../../src/core/approvals.js';
import type { Observation } from '../../src/core/gates.js';
import type { Phase } from '../../src/core/phases.js';
import type { Release } from '../../src/core/release.js';

/** What the world answers while a release runs, step by step. */
export interface Script {
  /** Error-rate value reported at the nth gate check (default: 0, healthy). */
  gateValue?: (check: number) => number | 'error' | 'nodata';
  /** Answer to the nth approval request. */
  approval?: (n: number) => 'approved' | 'rejected' | 'expired';
  /** Requests a person makes before the nth decision. */
  request?: (n: number) => 'promote' | 'rollback' | undefined;
  /** A driver call that throws at the nth action: the catch-all path restores the stable version. */
  crashAt?: number;
}

export interface Trace {
  release: Release;
  actions: Action[];
  weights: number[];
  phases: Phase[];
  decisions: number;
}

/** Runs the decide -> act loop in memory, the way the workflow does, with a scripted world. */
export function simulate(start: Release, script: Script = {}, maxDecisions = 2000): Trace {
  let r = start;
  let now = Date.parse(start.createdAt);
  let checks = 0;
  let approvals = 0;
  const actions: Action[] = [];
  const weights: number[] = [r.weight];
  const phases: Phase[] = [r.phase];
  for (let n = 0; n < maxDecisions; n++) {
    const req = script.request?.(n);
    if (req === 'promote' && offeredDecisions(r).includes('promote')) {
      r = requestPromote(r, { id: 'bob', channel: 'api' }, now);
    }
    if (req === 'rollback' && offeredDecisions(r).includes('rollback')) {
      r = requestRollback(r, { id: 'bob', channel: 'api' }, now);
    }
    const observations: Observation[] = gatesToObserve(r).map((g) => {
      const v = script.gateValue?.(checks) ?? 0;
      if (v === 'error') return { gate: g.name, kind: 'error', message: 'throttled' };
      if (v === 'nodata') return { gate: g.name, kind: 'metric', datapoints: [] };
      return { gate: g.name, kind: 'metric', datapoints: [{ timestamp: new Date(now - 30_000).toISOString(), value: v, samples: 100 }] };
    });
    if (observations.length > 0) checks++;
    const { action, release } = decide(r, observations, now);
    r = release;
    actions.push(action);
    phases.push(r.phase);
    if (script.crashAt === actions.length && action.type !== 'done' && action.type !== 'rollback') {
      r = beginRollback(r, 'unexpected error: driver crashed', now);
      weights.push(r.weight);
      phases.push(r.phase);
      continue;
    }
    switch (action.type) {
      case 'deploy':
        r = markDeployed(r, now);
        break;
      case 'shift':
        r = markShifted(r, action.percent, action.nextStep, now);
        break;
      case 'wait':
        now = Math.max(now + 1, Date.parse(action.until));
        break;
      case 'approval': {
        const answer = script.approval?.(approvals++) ?? 'approved';
        if (answer === 'expired') now += action.timeoutSeconds * 1000;
        r = recordApproval(r, action.approvalId, answer, now, answer === 'expired' ? undefined : { id: 'carol', channel: 'slack' });
        break;
      }
      case 'rollback':
        r = markRolledBack(r, now);
        break;
      case 'finalize':
        r = markFinalized(r, now);
        break;
      case 'done':
        return { release: r, actions, weights: [...weights, r.weight], phases, decisions: n + 1 };
    }
    weights.push(r.weight);
    phases.push(r.phase);
    now += 1000;
  }
  throw new Error(`release did not finish within ${maxDecisions} decisions: ${r.phase}`);
}

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '../../src/adapters/dynamodb/dynalite.js';
import { buildDefinition } from '../../src/workflow/definition.js';
import { EXECUTION_LIMITS, HISTORY_EVENTS, ROUTES, State } from '../../src/workflow/protocol.js';
import { serviceConfig, startHarness, type Harness } from '../support/harness.js';

let dynamo: LocalDynamo;
let h: Harness | undefined;
beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
afterAll(async () => dynamo.close());
afterEach(async () => {
  await h?.close();
  h = undefined;
});

// Step Functions' limits scaled down tenfold, so the test costs hundreds of decisions instead of
// thousands (CPU a loaded machine may not have), while the budget still fits one execution exactly as
// the real one does (the last test proves the real numbers).
const SCALE = 10;
const limits = {
  maxHistoryEvents: EXECUTION_LIMITS.maxHistoryEvents / SCALE,
  executionBudget: { decisions: EXECUTION_LIMITS.decisionsPerExecution / SCALE },
};

// Four 90-second bakes with gates checked every second: 360 decisions, about 3,600 history events in
// all, far past the 2,500 one (scaled) execution may hold. Time is virtual: the bakes take no real time.
const long = (name: string) =>
  serviceConfig(name, {
    strategy: { type: 'canary', steps: [10, 25, 50].map((percent) => ({ percent, bake: '90s' })), finalBake: '90s' },
    gates: {
      metrics: [{ name: 'error-rate', metric: 'ErrorRate', statistic: 'Average', comparison: 'GreaterThanThreshold', threshold: 5, period: '1m' }],
      checkInterval: '1s',
    },
  });
const ci = { id: 'ci', channel: 'api' } as const;

describe('long releases stay inside Step Functions’ limits', () => {
  it('a release past one execution’s history continues in new executions (generations) and succeeds', async () => {
    h = await startHarness([long('long-1')], { dynamo, ...limits });
    const { release } = await h.releases.startRelease({ service: 'long-1', image: 'app:2', actor: ci });
    const done = await h.finish(release.id);
    expect(done.phase).toBe('succeeded');
    const executions = h.engine.executionsOf(release.id);
    expect(executions.length).toBeGreaterThanOrEqual(9);
    expect(executions.map((e) => e.name).slice(0, 3)).toEqual([`long-1-${release.id}`, `long-1-${release.id}-g2`, `long-1-${release.id}-g3`]);
    expect(executions.every((e) => e.status === 'succeeded')).toBe(true);
    expect(Math.max(...executions.map((e) => e.historyEvents))).toBeLessThan(limits.maxHistoryEvents);
    // Together they recorded more history than a single execution could hold.
    expect(executions.reduce((sum, e) => sum + e.historyEvents, 0)).toBeGreaterThan(limits.maxHistoryEvents);
    expect(done.generation).toBe(executions.length);
    // 360 decisions on the real engine and store: seconds of CPU; the guard is generous for a loaded machine.
  }, 120_000);

  it('without generations the same release overflows its execution, which fails as Step Functions would fail it', async () => {
    h = await startHarness([long('long-2')], { dynamo, maxHistoryEvents: limits.maxHistoryEvents, executionBudget: { decisions: Number.MAX_SAFE_INTEGER } });
    const { release } = await h.releases.startRelease({ service: 'long-2', image: 'app:2', actor: ci });
    await h.until(release.id, () => h?.engine.executionOf(release.id)?.status === 'failed', 100_000);
    expect(h.engine.executionOf(release.id)?.error).toMatch(/^States\.HistoryLimit/);
  }, 120_000);

  it('the decision budget holds whatever the plan: the costliest loop times the budget fits in one execution', () => {
    const states = buildDefinition()['States'] as Record<
      string,
      { Type: keyof typeof HISTORY_EVENTS; Next?: string; Retry?: { MaxAttempts: number }[]; Catch?: { Next: string }[] }
    >;
    const cost = (name: string) => {
      const s = states[name];
      if (!s) throw new Error(`no state ${name}`);
      return HISTORY_EVENTS[s.Type] + Math.max(0, ...(s.Retry ?? []).map((r) => r.MaxAttempts)) * HISTORY_EVENTS.retry;
    };
    // The costliest way from a state back to Decide (every retry used, the approval timing out).
    const back = (name: string, seen: Set<string> = new Set()): number => {
      if (name === State.decide || seen.has(name)) return 0;
      const s = states[name];
      const nexts = [s?.Next, ...(s?.Catch ?? []).map((c) => c.Next)].filter((n): n is string => n !== undefined && n !== State.recover);
      return cost(name) + Math.max(0, ...nexts.map((n) => back(n, new Set([...seen, name]))));
    };
    const loop = cost(State.decide) + cost(State.route) + Math.max(...Object.values(ROUTES).map((target) => back(target)));
    const endings = cost(State.recover) + cost(State.recovered) + cost(State.notReleased) + HISTORY_EVENTS.execution;
    expect(loop).toBeLessThanOrEqual(55);
    expect(loop * EXECUTION_LIMITS.decisionsPerExecution + endings).toBeLessThan(EXECUTION_LIMITS.maxHistoryEvents);
    // The tenfold scaled limits the tests above run at keep the same margin.
    expect(loop * limits.executionBudget.decisions + endings).toBeLessThan(limits.maxHistoryEvents);
  });
});

import { describe, expect, it } from 'vitest';
import { assessGate, assessGates, overallVerdict, type GateSpec, type MetricGate, type Observation } from '../../src/core/gates.js';
import { T0, errorRateGate } from '../support/releases.js';

const at = (secondsAgo: number) => new Date(T0 - secondsAgo * 1000).toISOString();
const metric = (...points: [number, number, number][]): Observation => ({
  gate: 'error-rate',
  kind: 'metric',
  datapoints: points.map(([ago, value, samples]) => ({ timestamp: at(ago), value, samples })),
});

describe('assessGate: alarms', () => {
  const alarm: GateSpec = { kind: 'alarm', name: 'checkout-5xx' };
  it.each([
    ['OK', 'pass'],
    ['ALARM', 'fail'],
    ['INSUFFICIENT_DATA', 'inconclusive'],
  ] as const)('%s -> %s', (state, verdict) => {
    const result = assessGate(alarm, { gate: 'checkout-5xx', kind: 'alarm', state, reason: 'Threshold Crossed' }, T0);
    expect(result.verdict).toBe(verdict);
    expect(result.summary).toBe(`alarm checkout-5xx is ${state} (Threshold Crossed)`);
    expect(result.evidence.alarmState).toBe(state);
  });
});

describe('assessGate: metrics', () => {
  it('passes within the threshold, with readable evidence', () => {
    const r = assessGate(errorRateGate, metric([30, 1.5, 200]), T0);
    expect(r.verdict).toBe('pass');
    expect(r.evidence).toEqual({ value: 1.5, threshold: 5, comparison: '>', windowSeconds: 60, samples: 200 });
    expect(r.summary).toBe('error-rate: Average of ErrorRate = 1.5 (within > 5) over 60s, 200 samples');
  });

  it('fails above the threshold', () => {
    const r = assessGate(errorRateGate, metric([30, 31.2, 120]), T0);
    expect(r.verdict).toBe('fail');
    expect(r.summary).toContain('= 31.2 (breaches > 5)');
  });

  it('is inconclusive with fewer samples than required', () => {
    const r = assessGate(errorRateGate, metric([30, 50, 3]), T0);
    expect(r.verdict).toBe('inconclusive');
    expect(r.summary).toBe('error-rate: 3 samples in the last 60s, 10 needed for a verdict on Average of ErrorRate');
  });

  it('is inconclusive with no datapoint at all (no traffic publishes none)', () => {
    expect(assessGate(errorRateGate, metric(), T0).verdict).toBe('inconclusive');
  });

  it('ignores datapoints outside the window', () => {
    expect(assessGate(errorRateGate, metric([120, 90, 500]), T0).verdict).toBe('inconclusive');
  });

  it('counts a datapoint whose period began before the window but overlaps it (period-aligned stamps)', () => {
    expect(assessGate(errorRateGate, metric([61, 90, 500]), T0).verdict).toBe('fail');
  });

  it('needs every evaluation period to breach (M = N)', () => {
    const gate: MetricGate = { ...errorRateGate, evaluationPeriods: 3 };
    expect(assessGate(gate, metric([150, 9, 50], [90, 2, 50], [30, 9, 50]), T0).verdict).toBe('pass');
    expect(assessGate(gate, metric([150, 9, 50], [90, 7, 50], [30, 9, 50]), T0).verdict).toBe('fail');
  });

  it.each([
    ['LessThanThreshold', 4, 'fail'],
    ['LessThanThreshold', 5, 'pass'],
    ['LessThanOrEqualToThreshold', 5, 'fail'],
    ['GreaterThanOrEqualToThreshold', 5, 'fail'],
    ['GreaterThanThreshold', 5, 'pass'],
  ] as const)('%s with value %d -> %s', (comparison, value, verdict) => {
    expect(assessGate({ ...errorRateGate, comparison }, metric([10, value, 100]), T0).verdict).toBe(verdict);
  });

  it('an error observation or a missing one is an error verdict, never a throw', () => {
    expect(assessGate(errorRateGate, { gate: 'error-rate', kind: 'error', message: 'Rate exceeded' }, T0)).toMatchObject({
      verdict: 'error',
      summary: 'error-rate: could not be read: Rate exceeded',
    });
    expect(assessGates([errorRateGate], [], T0)[0]?.verdict).toBe('error');
  });
});

describe('overallVerdict', () => {
  it.each([
    [['pass', 'pass'], 'pass'],
    [['pass', 'inconclusive'], 'inconclusive'],
    [['inconclusive', 'error'], 'error'],
    [['error', 'fail', 'pass'], 'fail'],
    [[], 'pass'],
  ] as const)('%j -> %s', (verdicts, expected) => {
    expect(overallVerdict(verdicts.map((verdict) => ({ gate: 'g', verdict, evidence: {}, summary: '', at: '' })))).toBe(expected);
  });
});

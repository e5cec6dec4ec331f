import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../../src/config/config.js';

/** The judge's config (issue 25): one alpha per release, shared among its tests; minErrors; the default tolerance. */
const local = (overrides: Record<string, unknown> = {}) => ({
  name: 'demo',
  target: { driver: 'local', command: 'node server.js', port: 8080 },
  strategy: { type: 'canary', steps: [{ percent: 10, bake: '30s' }] },
  ...overrides,
});
const ECS_TARGET = { driver: 'ecs', cluster: 'c', service: 's', containerName: 'app' };
const ecs = (overrides: Record<string, unknown> = {}) => ({
  name: 'api',
  target: ECS_TARGET,
  strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }] },
  ...overrides,
});

function problems(raw: unknown): string[] {
  try {
    resolveConfig(raw);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  throw new Error('config was accepted');
}

describe('config: the judge’s one alpha per release (issue 25)', () => {
  const judgeGates = (raw: Record<string, unknown>) => {
    const [svc] = resolveConfig({ services: [raw] }).services;
    return svc!.settings.gates.filter((g) => g.kind === 'judge');
  };
  const perTest = (g: { alpha: number; alphaShare?: number }) => g.alpha * (g.alphaShare ?? 1);

  it.each([
    // A 10% canary then 100%: one judged bake (at 100% there is no stable version left to compare with).
    ['one judged bake, two signals', { steps: [{ percent: 10, bake: '10m' }] }, 1],
    [
      'two judged bakes, two signals',
      {
        steps: [
          { percent: 10, bake: '10m' },
          { percent: 50, bake: '10m' },
        ],
      },
      2,
    ],
  ])('%s: the tests of a release spend the release’s alpha, no more', (_name, canary, bakes) => {
    const gates = judgeGates(local({ strategy: { type: 'canary', ...canary }, gates: { judge: { alpha: 0.05 } } }));
    expect(gates.map((g) => g.alpha)).toEqual([0.05, 0.05]);
    // Every judged bake runs both tests: their false alarms add up to alpha at most.
    expect(bakes * gates.reduce((sum, g) => sum + perTest(g), 0)).toBeCloseTo(0.05, 12);
    // Errors get most of it: slow requests are common, errors rare.
    expect(perTest(gates.find((g) => g.name === 'judge-errors')!)).toBeCloseTo((0.9 * 0.05) / bakes, 12);
  });

  it('where the target shifts on its own (ecs), the watch over each shift spends from the same alpha', () => {
    const [errors] = judgeGates(
      ecs({
        target: {
          ...ECS_TARGET,
          targetGroups: [
            { targetGroup: 'targetgroup/a/1', loadBalancer: 'app/lb/1' },
            { targetGroup: 'targetgroup/b/2', loadBalancer: 'app/lb/1' },
          ],
        },
        gates: { judge: { signals: ['errors'], period: '1m' } },
      }),
    );
    // Shift to 10% (watched), bake at 10% (judged), shift to 100% (watched): three tests share alpha.
    expect(perTest(errors!)).toBeCloseTo(0.05 / 3, 12);
  });

  it('minErrors: 3 by default, a whole number of at least 1; tolerance 0.1 by default', () => {
    const [errors] = judgeGates(local({ gates: { judge: {} } }));
    expect(errors).toMatchObject({ minErrors: 3, tolerance: 0.1 });
    expect(judgeGates(local({ gates: { judge: { minErrors: 1 } } }))[0]).toMatchObject({ minErrors: 1 });
    expect(problems({ services: [local({ gates: { judge: { minErrors: 0 } } })] })).toEqual([
      expect.stringMatching(/^services\[0\]\.gates\.judge\.minErrors: /),
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { durationSeconds, parseDuration } from '../../src/core/duration.js';

describe('durations as people write them', () => {
  it.each<[string | number, number | undefined]>([
    ['30s', 30],
    ['5m', 300],
    ['1.5m', 90],
    ['0.1m', 6], // exactly 6, not 6.000000000000001: the config tells whole seconds from fractions by it
    ['0.7m', 42],
    ['0.01h', 36],
    ['0.4s', 0.4],
    ['1.25s', 1.25],
    ['0.01m', 0.6],
    [' 2d ', 172800],
    [90, 90],
    [0.4, 0.4],
    ['5 minutes', undefined],
    ['-1s', undefined],
    [-1, undefined],
    [Number.NaN, undefined],
  ])('durationSeconds(%j) is %s', (value, seconds) => {
    expect(durationSeconds(value)).toBe(seconds);
  });

  it('parseDuration rounds to whole seconds (the config refuses what it would round)', () => {
    expect(parseDuration('0.4s')).toBe(0);
    expect(parseDuration('1.5s')).toBe(2);
    expect(parseDuration('0.1m')).toBe(6);
  });
});

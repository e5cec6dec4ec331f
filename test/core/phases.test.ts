import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALL_PHASES, IllegalTransitionError, canTransition, isTerminal, transition, type Phase } from '../../src/core/phases.js';

describe('phases', () => {
  it.each<[Phase, Phase]>([
    ['queued', 'preparing'],
    ['queued', 'superseded'],
    ['preparing', 'deploying'],
    ['deploying', 'shifting'],
    ['shifting', 'baking'],
    ['baking', 'awaiting_approval'],
    ['awaiting_approval', 'shifting'],
    ['baking', 'promoting'],
    ['promoting', 'succeeded'],
    ['baking', 'rolling_back'],
    ['rolling_back', 'rolled_back'],
    ['rolling_back', 'cancelled'],
  ])('%s -> %s is allowed', (from, to) => {
    expect(transition(from, to)).toBe(to);
  });

  it.each<[Phase, Phase, string]>([
    ['queued', 'shifting', 'a release cannot go from queued to shifting'],
    ['baking', 'succeeded', 'a release cannot go from baking to succeeded'],
    ['baking', 'rolled_back', 'a release cannot go from baking to rolled_back'],
    ['rolling_back', 'shifting', 'a release cannot go from rolling_back to shifting'],
    ['succeeded', 'rolling_back', 'release is already succeeded; a finished release cannot become rolling_back'],
    ['rolled_back', 'preparing', 'release is already rolled_back'],
  ])('%s -> %s is refused', (from, to, message) => {
    expect(() => transition(from, to)).toThrow(IllegalTransitionError);
    expect(() => transition(from, to)).toThrow(message);
  });

  it('terminal phases are exactly the five final ones', () => {
    expect(ALL_PHASES.filter(isTerminal).sort()).toEqual(['cancelled', 'failed', 'rolled_back', 'succeeded', 'superseded']);
  });

  it('nothing follows a terminal phase', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL_PHASES.filter(isTerminal)), fc.constantFrom(...ALL_PHASES), (from, to) => {
        expect(canTransition(from, to)).toBe(false);
      }),
    );
  });

  it('succeeded is only reached from promoting, rolled_back only from rolling_back', () => {
    for (const from of ALL_PHASES) {
      expect(canTransition(from, 'succeeded')).toBe(from === 'promoting');
      expect(canTransition(from, 'rolled_back')).toBe(from === 'rolling_back');
    }
  });
});

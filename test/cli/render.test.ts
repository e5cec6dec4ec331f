import { describe, expect, it } from 'vitest';
import { fitToScreen, paint, releaseDetail } from '../../src/cli/render.js';
import { toReleaseView } from '../../src/contract/index.js';
import { evolve } from '../../src/core/timeline.js';
import { markDeployed, markShifted } from '../../src/core/transitions.js';
import { canary, release, T0 } from '../support/releases.js';

// eslint-disable-next-line no-control-regex -- colour sequences are not visible
const visible = (line: string) => [...line.replace(/\u001b\[[0-9;]*m/g, '')].length;

/** A release with a long timeline: far more events than a terminal has rows. */
function busy() {
  let r = markShifted(evolve(markDeployed(evolve(release(canary), T0, { phase: 'deploying' }), T0 + 1000), T0 + 2000, { phase: 'shifting' }), 10, 1, T0 + 2000);
  r = evolve(r, T0 + 2000, { phase: 'baking' });
  for (let i = 0; i < 80; i++) r = evolve(r, T0 + 3000 + i * 1000, {}, { type: 'waiting', message: `event ${i} ${'with a long explanation '.repeat(8)}` });
  return toReleaseView(r, { now: T0 + 90_000, viewer: { id: 'alice', channel: 'api', person: 'alice' } });
}

describe('get --watch on a terminal', () => {
  it.each([
    [24, 80],
    [10, 40],
    [50, 200],
  ])('fits %i rows x %i columns: no line wraps, the last row is left for the cursor, the newest events are kept', (rows, columns) => {
    for (const colour of [false, true]) {
      const text = fitToScreen(releaseDetail(busy(), paint(colour)), { rows, columns });
      const lines = text.replace(/\n$/, '').split('\n');
      expect(lines.length).toBeLessThanOrEqual(rows - 1);
      for (const line of lines) expect(visible(line)).toBeLessThanOrEqual(columns);
      if (rows > 12) {
        expect(text).toContain('event 79');
        expect(text).toMatch(/… \d+ earlier events/);
      }
    }
  });

  it('a view that fits is left as it is', () => {
    const text = 'a\nb\ntimeline\n  c\n';
    expect(fitToScreen(text, { rows: 24, columns: 80 })).toBe(text);
  });
});

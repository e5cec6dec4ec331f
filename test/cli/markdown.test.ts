import { describe, expect, it } from 'vitest';
import { fitSummary, SUMMARY_LIMIT_BYTES } from '../../src/cli/ci.js';
import { releaseMarkdown } from '../../src/cli/markdown.js';
import { ReleaseViewSchema, toReleaseView, type ReleaseView } from '../../src/contract/index.js';
import { evolve } from '../../src/core/timeline.js';
import { markDeployed, markShifted } from '../../src/core/transitions.js';
import { canary, release, T0 } from '../support/releases.js';

/** A canary release baking at 10%, as the API sends it, with `overrides` (kept contract-valid). */
function view(overrides: Partial<ReleaseView> = {}): ReleaseView {
  const deployed = markDeployed(evolve(release(canary, { id: 'r-md-1' }), T0, { phase: 'deploying' }), T0 + 1000);
  const baking = evolve(markShifted(evolve(deployed, T0 + 2000, { phase: 'shifting' }), 10, 1, T0 + 2000), T0 + 2000, { phase: 'baking' });
  return ReleaseViewSchema.parse({ ...toReleaseView(baking, { now: T0 + 60_000 }), ...overrides });
}

/** The cells of a Markdown table row as GFM splits them: at every `|` not escaped by a backslash. */
const cells = (row: string) => row.replace(/^\| | \|$/g, '').split(/(?<!\\)\|/);

const hostile = 'x | y <img src=x onerror=alert(1)> [click](https://evil.example) **loud** `code` \u001b[2J';

describe('switchyard get --format markdown (the CI job summary)', () => {
  it('shows the split, the plan with the step being worked on, the gates and the timeline', () => {
    const md = releaseMarkdown(
      view({
        gateResults: [
          {
            gate: 'error-rate',
            verdict: 'pass',
            summary: 'error-rate 0.2 (fails when > 1), 120 samples',
            evidence: { value: 0.2, threshold: 1 },
            at: '2026-01-01T00:01:00.000Z',
          },
          { gate: 'latency', verdict: 'inconclusive', summary: 'latency: 3 samples, 50 needed', evidence: { samples: 3 }, at: '2026-01-01T00:01:00.000Z' },
        ],
      }),
    );
    expect(md).toContain('### ⏳ checkout-api: release `r-md-1` baking\n');
    expect(md).toContain('| traffic | 10% new, 90% stable |');
    expect(md).toContain('| strategy | canary, step 2 of 5 |');
    expect(md).toContain('#### Plan\n\n- [x] 10%\n- [ ] **bake 5m** (current)\n- [ ] 100%\n- [ ] bake 5m\n- [ ] finalize\n');
    expect(md).toContain(
      '| error-rate | ✅ pass | error-rate 0.2 (fails when > 1), 120 samples | 2026-01-01 00:01:00 |'.replace('(fails when > 1)', '\\(fails when \\> 1\\)'),
    );
    expect(md).toContain('| latency | ⚠️ inconclusive |');
    expect(md).toMatch(/\| 2026-01-01 00:00:00 \| release of checkout-api:1\.8\.2 created \| alice \|/);
  });

  it('what a person must do: the approval waited for, until when, and what happens then', () => {
    const md = releaseMarkdown(
      view({
        phase: 'awaiting_approval',
        pendingApproval: {
          id: 'a1',
          label: 'after-first-step',
          requestedAt: '2026-01-01T00:01:00.000Z',
          expiresAt: '2026-01-01T02:01:00.000Z',
          onTimeout: 'rollback',
        },
      }),
    );
    expect(md).toContain('**Waiting for approval** after-first-step until 2026-01-01 02:01:00, then rollback.');
  });

  it('text others wrote is shown literally: it cannot split a table cell, open a tag or a link, or carry a control character', () => {
    const base = view();
    const md = releaseMarkdown(
      view({
        reason: hostile,
        timeline: [...base.timeline, { at: '2026-01-01T00:02:00.000Z', type: 'comment', message: hostile, comment: hostile }],
        gateResults: [{ gate: 'probe | x', verdict: 'fail', summary: hostile, evidence: {}, at: '2026-01-01T00:02:00.000Z' }],
      }),
    );
    expect(md).not.toContain('\u001b');
    expect(md).not.toMatch(/(?<!\\)<img/);
    expect(md).not.toMatch(/(?<!\\)\[click(?<!\\)\]/);
    expect(md).not.toMatch(/(?<!\\)\*\*loud/);
    // The URL is in a code span: GFM's autolinks do not reach inside one.
    expect(md).toContain('> x \\| y \\<img src=x onerror=alert\\(1\\)\\> \\[click\\]\\(`https://evil.example)` \\*\\*loud\\*\\* \\`code\\`');
    const gateRow = md.split('\n').find((l) => l.startsWith('| probe'))!;
    expect(cells(gateRow)).toHaveLength(4);
    const eventRow = md.split('\n').find((l) => l.startsWith('| 2026-01-01 00:02:00'))!;
    expect(cells(eventRow)).toHaveLength(3);
  });

  it('a bare URL, www. address or email cannot become a link (GFM autolinks), nor $…$ math', () => {
    const md = releaseMarkdown(view({ reason: 'see https://evil.example/login or www.evil.example, mail root@evil.example; costs $x^2$ | $$y$$' }));
    const reason = md.split('\n').find((l) => l.startsWith('> '))!;
    expect(reason).toBe('> see `https://evil.example/login` or `www.evil.example,` mail `root@evil.example`; costs \\$x^2\\$ \\| \\$\\$y\\$\\$');
    // Outside code spans, nothing GFM would link is left.
    const outside = reason.replace(/`[^`]*`/g, '');
    expect(outside).not.toMatch(/https?:|www\.|@/);
    expect(outside).not.toMatch(/(?<!\\)\$/);
  });

  it('publishes that an environment variable changed, never its value', () => {
    const md = releaseMarkdown(
      view({
        changes: [
          { path: 'containerDefinitions[app].environment[DB_PASSWORD].value', before: 'hunter2', after: 'hunter3' },
          { path: 'containerDefinitions[app].environment[API_KEY]', after: '{"name":"API_KEY","value":"sk-live-1"}' },
          { path: 'containerDefinitions[app].environment[OLD]', before: '{"name":"OLD","value":"gone-secret"}' },
          { path: 'cpu', before: '256', after: '512' },
        ],
      }),
    );
    for (const value of ['hunter2', 'hunter3', 'sk-live-1', 'gone-secret']) expect(md).not.toContain(value);
    expect(md).toContain('- \\~ containerDefinitions\\[app\\].environment\\[DB\\_PASSWORD\\]: changed \\(value not shown\\)');
    expect(md).toContain('- \\+ containerDefinitions\\[app\\].environment\\[API\\_KEY\\]: added \\(value not shown\\)');
    expect(md).toContain('- - containerDefinitions\\[app\\].environment\\[OLD\\]: removed \\(value not shown\\)');
    expect(md).toContain('- \\~ cpu: 256 → 512');
  });

  it('a summary over GitHub’s 1 MiB is cut at a line with a note, within the limit', () => {
    const line = `| ${'é'.repeat(100)} |\n`;
    const long = line.repeat(Math.ceil((SUMMARY_LIMIT_BYTES * 1.5) / Buffer.byteLength(line)));
    const fitted = fitSummary(long);
    expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(SUMMARY_LIMIT_BYTES);
    expect(Buffer.byteLength(fitted)).toBeGreaterThan(SUMMARY_LIMIT_BYTES - 2 * Buffer.byteLength(line));
    expect(fitted).toMatch(/\|\n\n\*\*Cut here\*\*: the summary is longer than GitHub keeps \(1 MiB\)/);
    expect(fitted).not.toContain('\uFFFD');
    expect(fitSummary('short\n')).toBe('short\n');
  });

  it('a long timeline keeps the newest events and says how many were left out (a job summary holds at most 1 MiB)', () => {
    const base = view();
    const timeline = Array.from({ length: 500 }, (_, i) => ({ at: new Date(T0 + i * 1000).toISOString(), type: 'waiting', message: `event ${i}` }));
    const md = releaseMarkdown({ ...base, timeline }, { maxEvents: 200 });
    expect(md).toContain('300 earlier events left out: `switchyard get r-md-1` shows them all.');
    expect(md).not.toContain('| event 299 |');
    expect(md).toContain('| event 300 |');
    expect(md).toContain('| event 499 |');
  });

  it('an ended release says so: ✅ when it succeeded, ❌ otherwise, with the reason', () => {
    expect(releaseMarkdown(view({ phase: 'succeeded', final: true }))).toContain('### ✅ checkout-api: release `r-md-1` succeeded\n');
    const md = releaseMarkdown(view({ phase: 'rolled_back', final: true, reason: 'gate failed: error-rate' }));
    expect(md).toContain('### ❌ checkout-api: release `r-md-1` rolled\\_back\n\n> gate failed: error-rate\n');
    expect(md).toContain('| took |');
  });
});

import { trafficBar } from '../core/duration.js';
import { isTerminal } from '../core/phases.js';
import { viewSteps } from '../contract/release-view.js';
import type { Release } from '../core/release.js';
import type { Store } from '../ports/release-store.js';
import { terminalText } from '../core/terminal-text.js';

/** The step as the contract labels it (src/contract/steps.ts), the same words as the CLI and the dashboard. */
function stepText(r: Release): string {
  const steps = viewSteps(r);
  const index = steps.findIndex((s) => s.status === 'current');
  if (index === -1) return `${steps.filter((s) => s.status === 'done').length}/${steps.length}`;
  return `step ${index + 1}/${steps.length} ${steps[index]?.label ?? ''}`;
}

function gateText(r: Release): string {
  return r.gateResults
    .map((g) => {
      const mark = g.verdict === 'pass' ? '✓' : g.verdict === 'fail' ? '✗' : '?';
      const judge = g.evidence.interval;
      if (judge) {
        const r = (x: number | null | undefined) => (x === null || x === undefined ? '∞' : x.toFixed(2));
        return `${g.gate} ${g.evidence.ratio === undefined ? '-' : r(g.evidence.ratio)} [${r(judge[0])}, ${r(judge[1])}] ${mark}`;
      }
      const value =
        g.evidence.value === undefined
          ? (g.evidence.alarmState ?? g.verdict)
          : `${Number(g.evidence.value.toFixed(3))}${g.evidence.comparison ? ` (limit ${g.evidence.comparison} ${g.evidence.threshold})` : ''}`;
      return `${g.gate} ${value} ${mark}`;
    })
    .join('  ');
}

/** The state of a release in one line: split as a bar, phase, step, gate results. */
export function statusLine(r: Release): string {
  const weight = `${r.weight}%`.padStart(4);
  const gates = gateText(r);
  return `         ${r.service} ${r.artifact.image} ${trafficBar(r.weight)} ${weight} │ ${r.phase} │ ${stepText(r)}${gates ? ` │ ${gates}` : ''}`;
}

/** One event of the timeline, stamped with the time since the release was created. */
export function eventLine(message: string, elapsedMs: number): string {
  return `[${`${(elapsedMs / 1000).toFixed(1)}s`.padStart(6)}] ${message}`;
}

/**
 * Prints every new timeline event of recent releases as it happens, with the split as a bar.
 * Returns a function that stops watching. Each line goes through terminalText: an image name, a
 * label, a reason or a gate summary cannot bring a control character or a line break to the terminal.
 */
export function watchReleases(
  store: Store,
  writeLine: (line: string) => void,
  { intervalMs = 250, onFinished }: { intervalMs?: number; onFinished?: (r: Release) => void } = {},
): () => Promise<void> {
  const write = (line: string) => writeLine(terminalText(line));
  const seen = new Map<string, number>();
  const started = new Map<string, number>();
  const lastStatus = new Map<string, string>();
  let stopped = false;
  let first = true;
  const loop = (async () => {
    while (!stopped) {
      try {
        const { releases } = await store.list({ limit: 10 });
        // When several releases run at once, each line names its release.
        const several = releases.filter((r) => !isTerminal(r.phase)).length > 1;
        for (const r of [...releases].reverse()) {
          const known = seen.get(r.id);
          // On the first look, skip history: only what happens from now on is news.
          if (known === undefined && first) {
            seen.set(r.id, r.timeline.length);
            continue;
          }
          const from = known ?? 0;
          const status = statusLine(r);
          if (r.timeline.length <= from && lastStatus.get(r.id) === status) continue;
          if (!started.has(r.id)) started.set(r.id, Date.parse(r.createdAt));
          for (const event of r.timeline.slice(from))
            write(
              eventLine(
                `${several ? `${r.service} ${r.id}: ` : ''}${event.message}${event.actor ? ` (${event.actor.id} via ${event.actor.channel})` : ''}`,
                Date.parse(event.at) - (started.get(r.id) ?? 0),
              ),
            );
          if (lastStatus.get(r.id) !== status) write(status);
          lastStatus.set(r.id, status);
          seen.set(r.id, r.timeline.length);
          if (isTerminal(r.phase)) onFinished?.(r);
        }
        first = false;
      } catch {
        // The store is stopping; the next loop or stop() ends this.
      }
      await new Promise((res) => setTimeout(res, intervalMs));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

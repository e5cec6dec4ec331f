import type { GateResult } from './gates.js';

/**
 * What a release keeps as evidence for the people deciding: each gate's readings over time (what a
 * chart draws) and the new version's recent error lines (shown with an approval).
 */

/** A gate's reading at one check: its value (the judge: its ratio), its limit or interval, its verdict. */
export interface GatePoint {
  readonly at: string;
  readonly value: number;
  readonly threshold?: number;
  readonly lower?: number;
  readonly upper?: number | null;
  readonly verdict: GateResult['verdict'];
}

/** Readings kept per gate: an hour of one-minute checks, a few minutes of one-second ones. */
export const GATE_HISTORY_POINTS = 60;

/** Each gate's recent readings, oldest first (at most GATE_HISTORY_POINTS each). */
export type GateHistory = Readonly<Record<string, readonly GatePoint[]>>;

/**
 * The release with these gate results, and each gate's reading appended to its history (a reading
 * with no number, such as an alarm in INSUFFICIENT_DATA, is not drawn).
 */
export function withGateResults(
  release: { readonly gateHistory?: GateHistory },
  results: readonly GateResult[],
): { readonly gateResults: readonly GateResult[]; readonly gateHistory: GateHistory } {
  const history: Record<string, readonly GatePoint[]> = { ...release.gateHistory };
  for (const r of results) {
    const e = r.evidence;
    const value = e.ratio ?? e.value ?? (e.alarmState === 'ALARM' ? 1 : e.alarmState === 'OK' ? 0 : undefined);
    if (value === undefined || !Number.isFinite(value)) continue;
    const point: GatePoint = {
      at: r.at,
      value,
      ...(e.threshold !== undefined ? { threshold: e.threshold } : {}),
      ...(e.interval ? { lower: e.interval[0], upper: e.interval[1] } : {}),
      verdict: r.verdict,
    };
    history[r.gate] = [...(history[r.gate] ?? []), point].slice(-GATE_HISTORY_POINTS);
  }
  return { gateResults: results, gateHistory: history };
}

/** A line the new version logged about an error, as shown with an approval. */
export interface ErrorLine {
  readonly time: string;
  readonly message: string;
  /** Which replica or task wrote it. */
  readonly source?: string;
}

/** How many error lines an approval carries (a Slack section holds 3,000 characters). */
export const MAX_ERROR_LINES = 5;
/** A line is an error line when it contains this (case-insensitive: `"level":"error"`, `ERROR`, `Error:`). */
export const ERROR_LINE_MATCH = 'error';
/** The longest an error line is shown with an approval. */
const MAX_ERROR_LINE_LENGTH = 400;

/** The error lines an approval carries, from the lines the logs gave: cut to length, with where they came from. */
export function errorLinesFrom(lines: readonly { readonly time: string; readonly message: string; readonly source?: string }[]): ErrorLine[] {
  return lines
    .slice(-MAX_ERROR_LINES)
    .map((l) => ({ time: l.time, message: l.message.slice(0, MAX_ERROR_LINE_LENGTH), ...(l.source ? { source: l.source } : {}) }));
}

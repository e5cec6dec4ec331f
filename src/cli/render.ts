import { formatChange } from '../core/task-diff.js';
import { formatDuration, trafficBar } from '../core/duration.js';
import { terminalSafe } from '../core/terminal-text.js';

/** What the CLI reads of a release from the API: the wire contract (see GET /openapi.json). */
import type { ReleaseSummary, ReleaseView } from '../contract/schema.js';
export type { ReleaseSummary, ReleaseView };

/** Who took a timeline event's decision, and how they were proven (the audit trail). */
export interface TimelineActor {
  readonly id: string;
  readonly channel?: string;
  readonly person?: string;
  readonly proof?: { readonly by: string; readonly subject?: string };
}

const PROOF_NAMES: Readonly<Record<string, string>> = {
  'shared-token': 'shared token, unproven',
  'person-token': 'own token',
  'slack-signature': 'Slack',
  sigv4: 'SigV4',
  jwt: 'JWT',
  'ecr-event': 'ECR push',
  switchyard: 'Switchyard',
};

/** "alice via slack (Slack U012ABC)": the actor, their channel and what proved them. */
export function actorText(actor: TimelineActor): string {
  const proof = actor.proof;
  if (!proof) return actor.id;
  const how = PROOF_NAMES[proof.by] ?? proof.by;
  const subject = proof.subject !== undefined && proof.subject !== actor.id ? ` ${proof.subject}` : '';
  return `${actor.id}${actor.channel !== undefined && actor.channel !== 'system' ? ` via ${actor.channel}` : ''}, ${how}${subject}`;
}

/** Colour on a terminal only, never when NO_COLOR is set (https://no-color.org) or --no-color is given. */
export interface Paint {
  readonly green: (s: string) => string;
  readonly red: (s: string) => string;
  readonly yellow: (s: string) => string;
  readonly dim: (s: string) => string;
  readonly bold: (s: string) => string;
}

export function paint(enabled: boolean): Paint {
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { green: wrap(32, 39), red: wrap(31, 39), yellow: wrap(33, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

export function colourWanted(stream: { isTTY?: boolean }, flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag === false) return false;
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  return stream.isTTY === true;
}

function phaseText(phase: string, p: Paint): string {
  if (phase === 'succeeded') return p.green(phase);
  if (phase === 'rolled_back' || phase === 'failed') return p.red(phase);
  if (phase === 'awaiting_approval' || phase === 'rolling_back') return p.yellow(phase);
  return phase;
}

const time = (iso: string | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

/*
 * Every renderer here first passes what the API sent through terminalSafe (core/terminal-text.ts): images,
 * reasons, comments, labels, gate summaries and a version's error lines reach the terminal without a
 * control character or escape sequence, and on one line each. Colour is added after, by Switchyard.
 */

/** Releases as a table, one line each. */
export function releaseTable(unsafe: readonly ReleaseSummary[], p: Paint): string {
  const releases = terminalSafe(unsafe);
  if (releases.length === 0) return 'no releases\n';
  const rows = releases.map((r) => [r.id, r.service, r.image, r.phase, `${r.traffic.candidate}%`, time(r.createdAt), r.createdBy.id]);
  const head = ['ID', 'SERVICE', 'IMAGE', 'PHASE', 'NEW', 'CREATED', 'BY'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[], colour = false) =>
    cells
      .map((c, i) => {
        const padded = c.padEnd(widths[i]!);
        return colour && i === 3 ? phaseText(c, p) + padded.slice(c.length) : padded;
      })
      .join('  ')
      .trimEnd();
  return [p.bold(line(head)), ...rows.map((row) => line(row, true))].join('\n') + '\n';
}

/** One release in full, as a person reads it: split, plan with the current step, gates, what waits, timeline. */
export function releaseDetail(unsafe: ReleaseView, p: Paint): string {
  const r = terminalSafe(unsafe);
  const plan = r.steps.map((s) => (s.status === 'current' ? p.bold(`[${s.label}]`) : s.status === 'done' ? p.dim(s.label) : s.label)).join(' → ');
  const lines = [
    `${p.bold(r.id)}  ${r.service} ${r.image}  ${phaseText(r.phase, p)}${r.reason ? `: ${r.reason}` : ''}`,
    `traffic  ${trafficBar(r.traffic.candidate)} ${r.traffic.candidate}% new, ${r.traffic.stable}% stable`,
    `plan     ${r.strategy}: ${plan}`,
    `time     ${r.final ? 'took' : 'running for'} ${formatDuration(r.durationSeconds)}${r.countdown && !r.pendingApproval ? `; ${r.countdown.label} ends in ${formatDuration(r.countdown.remainingSeconds)} (${time(r.countdown.endsAt)})` : ''}`,
  ];
  for (const g of r.gateResults) {
    const mark = g.verdict === 'pass' ? p.green('✓') : g.verdict === 'fail' ? p.red('✗') : p.yellow('?');
    // The judge's own line says it all: new/stable ratio, its interval, the test's value against its bound.
    if (g.evidence.interval && g.summary) {
      lines.push(`gate     ${mark} ${g.summary}`);
      continue;
    }
    const value =
      g.evidence.value === undefined
        ? (g.evidence.alarmState ?? g.verdict)
        : `${Number(g.evidence.value.toFixed(3))}${g.evidence.comparison ? ` (fails when ${g.evidence.comparison} ${g.evidence.threshold})` : ''}`;
    lines.push(`gate     ${mark} ${g.gate} ${value}${g.evidence.samples !== undefined ? `, ${g.evidence.samples} samples` : ''}`);
  }
  for (const c of r.changes ?? []) lines.push(`change   ${formatChange(c)}`);
  // The new version wrote these lines: each is labelled as its own, and what it wrote follows the bar.
  if (r.pendingApproval)
    for (const e of r.recentErrors ?? []) lines.push(p.red(`error    ${time(e.time)} new version${e.source ? ` [${e.source}]` : ''} │ ${e.message}`));
  if (r.pendingApproval) {
    const left = r.countdown?.kind === 'approval' ? `, ${formatDuration(r.countdown.remainingSeconds)} left` : '';
    lines.push(
      p.yellow(
        `waiting  for approval "${r.pendingApproval.label}" until ${time(r.pendingApproval.expiresAt)}${left} (then ${r.pendingApproval.onTimeout})${r.decisions.includes('approve') ? `: switchyard approve ${r.id}` : ''}`,
      ),
    );
  }
  if (r.paused) {
    const until = r.paused.until ? `; the target holds at most until ${time(r.paused.until)}, then it rolls back` : '';
    lines.push(
      p.yellow(
        `paused   by ${actorText(r.paused.by)} since ${time(r.paused.at)}${r.paused.comment ? `: "${r.paused.comment}"` : ''}; ${formatDuration(r.paused.bakeLeftSeconds)} of the bake left${until}${r.decisions.includes('resume') ? `: switchyard resume ${r.id}` : ''}`,
      ),
    );
  }
  // What this caller may do now, as the API offered it; and what the release's rules keep from them.
  const commands = [...r.decisions, ...r.followUps].map((a) => (a === 'undo' ? `switchyard undo ${r.service}` : `switchyard ${a} ${r.id}`));
  if (commands.length > 0) lines.push(`you may  ${commands.join(' · ')}`);
  for (const w of r.withheld) lines.push(p.dim(`not you  ${w.action}: ${w.why}`));
  lines.push('timeline');
  for (const e of r.timeline) {
    lines.push(`  ${p.dim(time(e.at))} ${e.message}${e.actor ? ` (${actorText(e.actor)})` : ''}${e.comment ? `: "${e.comment}"` : ''}`);
  }
  return lines.join('\n') + '\n';
}

/** The timeline events of `r` after the first `seen`, as plain lines (for `get --watch` when piped). */
export function newEventLines(unsafe: ReleaseView, seen: number): string[] {
  const r = terminalSafe(unsafe);
  return r.timeline
    .slice(seen)
    .map((e) => `${time(e.at)} ${r.id} ${e.message}${e.actor ? ` (${actorText(e.actor)})` : ''}${e.comment ? `: "${e.comment}"` : ''}`);
}

/** One line of a version's (or Switchyard's) log, as `switchyard logs` prints it. */
export interface LogLine {
  readonly time: string;
  readonly version: string;
  readonly replica: number;
  readonly stream: string;
  readonly message: string;
}

/**
 * A log line for the terminal: time, which version and replica wrote it, then what it wrote, stripped
 * of control characters and on one line (a line break in it is shown as ↵), so every line on screen
 * starts with the writer's label.
 */
export function logLine(unsafe: LogLine, p: Paint): string {
  const l = terminalSafe(unsafe);
  return `${p.dim(l.time)} ${l.version}#${l.replica} │ ${l.stream === 'stderr' ? p.red(l.message) : l.message}\n`;
}

// eslint-disable-next-line no-control-regex -- colour sequences are what is matched here
const ESCAPE = /^\u001b\[[0-9;]*m/;

/** `line` cut to `columns` visible characters (colour sequences kept, not counted), with … where it was cut. */
function fitLine(line: string, columns: number): string {
  let width = 0;
  let out = '';
  let coloured = false;
  for (let i = 0; i < line.length;) {
    const escape = ESCAPE.exec(line.slice(i))?.[0];
    if (escape) {
      out += escape;
      coloured = true;
      i += escape.length;
      continue;
    }
    const char = String.fromCodePoint(line.codePointAt(i)!);
    if (width + 1 > columns) return `${out.slice(0, out.length - 1)}…${coloured ? '\u001b[0m' : ''}`;
    out += char;
    width += 1;
    i += char.length;
  }
  return out;
}

/**
 * A release's detail fitted to a terminal of `rows` x `columns` (for `get --watch`): every line cut to
 * the width, so none wraps; and when it is too tall, the oldest timeline events left out (the newest
 * kept, with a line saying how many were left out), leaving the last row for the cursor.
 */
export function fitToScreen(text: string, { rows, columns }: { rows: number; columns: number }): string {
  const lines = text.replace(/\n$/, '').split('\n');
  const room = Math.max(1, rows - 1);
  let kept = lines;
  if (lines.length > room) {
    const start = lines.indexOf('timeline') + 1;
    const head = start > 0 ? lines.slice(0, start) : lines.slice(0, room);
    const events = start > 0 ? lines.slice(start) : [];
    const fit = Math.max(0, room - head.length - 1);
    kept = fit > 0 ? [...head, `  … ${events.length - fit} earlier events`, ...events.slice(-fit)] : head.slice(0, room);
  }
  return kept.map((l) => fitLine(l, Math.max(2, columns))).join('\n') + '\n';
}

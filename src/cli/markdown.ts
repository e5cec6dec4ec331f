import { formatDuration } from '../core/duration.js';
import { formatChange, type Change } from '../core/task-diff.js';
import { terminalSafe } from '../core/terminal-text.js';
import type { ReleaseView } from '../contract/schema.js';
import { actorText } from './render.js';

/**
 * A release as GitHub-flavoured Markdown, for a CI job summary (`$GITHUB_STEP_SUMMARY`) or a pull
 * request comment: the outcome, the plan with each step's state, the gates, what waits for a person,
 * the changes and the timeline. It renders the view the API sent (src/contract) and decides nothing.
 *
 * Everything the API sent is text others wrote (an image name, a reason, a comment, a gate's summary):
 * it is stripped of control characters (terminalSafe) and its Markdown is escaped, so it can neither
 * break a table, open a link or an HTML tag, nor pass for Switchyard's own lines.
 *
 * @example process.stdout.write(releaseMarkdown(await api.get<ReleaseView>(`releases/${id}`)))
 */
export function releaseMarkdown(unsafe: ReleaseView, { maxEvents = 200 }: { maxEvents?: number } = {}): string {
  const r = terminalSafe(unsafe);
  const mark = r.final ? (r.phase === 'succeeded' ? '✅' : '❌') : '⏳';
  const out: string[] = [
    `### ${mark} ${markdownText(r.service)}: release \`${code(r.id)}\` ${markdownText(r.phase)}`,
    '',
    ...(r.reason ? [`> ${markdownText(r.reason)}`, ''] : []),
    '| | |',
    '| --- | --- |',
    `| image | ${inlineCode(r.image)} |`,
    ...(r.digest && !r.image.includes(r.digest) ? [`| digest | ${inlineCode(r.digest)} |`] : []),
    `| traffic | ${r.traffic.candidate}% new, ${r.traffic.stable}% stable |`,
    `| strategy | ${markdownText(r.strategy)}, step ${r.step.index} of ${r.step.total} |`,
    `| ${r.final ? 'took' : 'running for'} | ${formatDuration(r.durationSeconds)} |`,
    `| started | ${time(r.createdAt)} by ${markdownText(actorText(r.createdBy))} |`,
    ...(r.previous ? [`| previous | ${inlineCode(r.previous)} |`] : []),
    ...(r.expedited ? [`| expedited | ${markdownText(r.expedited.reason)} |`] : []),
    ...(r.origin ? [`| ${r.origin.kind} of | \`${code(r.origin.of)}\` |`] : []),
    '',
    '#### Plan',
    '',
    // A task list: GitHub shows done steps ticked; the current one is in bold.
    ...r.steps.map(
      (s) => `- [${s.status === 'done' ? 'x' : ' '}] ${s.status === 'current' ? `**${markdownText(s.label)}** (current)` : markdownText(s.label)}`,
    ),
    '',
  ];
  if (r.countdown && !r.final)
    out.push(`${markdownText(r.countdown.label)} ends at ${time(r.countdown.endsAt)} (in ${formatDuration(r.countdown.remainingSeconds)}).`, '');
  if (r.pendingApproval) {
    out.push(
      `**Waiting for approval** ${markdownText(r.pendingApproval.label)} until ${time(r.pendingApproval.expiresAt)}, then ${markdownText(r.pendingApproval.onTimeout)}.`,
      '',
    );
  }
  out.push('#### Gates', '');
  if (r.gateResults.length === 0) out.push('No gate has been checked.', '');
  else {
    out.push('| gate | verdict | reading | at |', '| --- | --- | --- | --- |');
    for (const g of r.gateResults)
      out.push(`| ${markdownText(g.gate)} | ${VERDICT_MARK[g.verdict] ?? ''} ${g.verdict} | ${markdownText(g.summary)} | ${time(g.at)} |`);
    out.push('');
  }
  if (r.changes && r.changes.length > 0) {
    out.push('#### Changes besides the image', '');
    for (const c of r.changes) out.push(`- ${markdownText(publishedChange(c))}`);
    out.push('');
  }
  out.push('#### Timeline', '');
  const left = Math.max(0, r.timeline.length - maxEvents);
  if (left > 0) out.push(`${left} earlier events left out: \`switchyard get ${code(r.id)}\` shows them all.`, '');
  out.push('| time (UTC) | event | by |', '| --- | --- | --- |');
  for (const e of r.timeline.slice(left)) {
    out.push(
      `| ${time(e.at)} | ${markdownText(e.message)}${e.comment ? `: “${markdownText(e.comment)}”` : ''} | ${e.actor ? markdownText(actorText(e.actor)) : ''} |`,
    );
  }
  return `${out.join('\n')}\n`;
}

/**
 * A change as a summary may publish it: an environment variable's value is not shown (a plain value in
 * a task definition is often not meant for everyone who can read the job), only that it changed.
 */
function publishedChange(c: Change): string {
  const variable = /^(.*\.environment\[[^\]]*\])/.exec(c.path)?.[1];
  if (variable === undefined) return formatChange(c);
  const what = c.before === undefined ? 'added' : c.after === undefined ? 'removed' : 'changed';
  return `${c.before === undefined ? '+' : c.after === undefined ? '-' : '~'} ${variable}: ${what} (value not shown)`;
}

const VERDICT_MARK: Readonly<Record<string, string>> = { pass: '✅', fail: '❌', inconclusive: '⚠️', error: '⚠️' };

const time = (iso: string) => iso.replace('T', ' ').replace(/(\.\d+)?Z$/, '');

/**
 * Text as Markdown shows it, literally: every ASCII punctuation character that could start Markdown or
 * HTML is backslash-escaped (CommonMark 0.31, §2.4: any ASCII punctuation may be escaped), so `*`, `_`,
 * `[`, `<`, `#`, `$` (GitHub's math) and the like are shown, not interpreted, and a `|` does not end a
 * table cell (GFM). What GFM's autolink extension would turn into a link without any punctuation (a bare
 * `https://…`, `www.…` or an email address) is put in a code span, where nothing is a link. Line breaks
 * are already marks (↵).
 */
export function markdownText(s: string): string {
  let out = '';
  let at = 0;
  for (const m of s.matchAll(AUTOLINK)) {
    out += escaped(s.slice(at, m.index)) + inlineCode(m[0]);
    at = m.index + m[0].length;
  }
  return out + escaped(s.slice(at));
}

/** What GFM links by itself (the autolinks extension): a URL with a scheme, `www.`, an email address. */
const AUTOLINK = /(?:https?:\/\/|ftp:\/\/|mailto:|xmpp:|www\.)\S*|[\w.+-]+@[\w-]+(?:\.[\w-]+)+/gi;

const escaped = (s: string) => s.replace(/[\\`*_{}[\]()<>#+!|~&$]/g, (c) => `\\${c}`);

/** Inside a code span: a backtick would end it, and GFM splits a table cell at `|` even there. */
function code(s: string): string {
  return s.replace(/`/g, 'ˋ').replace(/\|/g, '\\|');
}

export const inlineCode = (s: string) => `\`${code(s)}\``;

import { terminalText } from './terminal-text.js';

/**
 * Text Switchyard did not write (comments, reasons, labels, image names, a version's error lines, gate
 * summaries with version data) made literal for Slack's mrkdwn.
 *
 * Slack: "Slack uses &, <, and > as control characters for special parsing in text objects, so they
 * must be converted to HTML entities if they're not going to be used for their parsing purpose"; only
 * these three are decoded, so nothing else is entity-encoded
 * (https://api.slack.com/reference/surfaces/formatting#escaping). Escaping them is what keeps
 * `<!channel>`, `<!here>`, `<!subteam^S1>`, `<@U123>`, `<#C123>` and `<https://evil|Switchyard SSO>`
 * from becoming a ping or a disguised link: each arrives as the characters typed.
 *
 * Control characters go too (the same set as for a terminal), and a line break becomes a space unless
 * the caller keeps it (a quoted comment quotes each of its lines; see `slackQuote`).
 *
 * @example
 * slackText('<!channel> see <https://evil|Switchyard SSO>') // '&lt;!channel&gt; see &lt;https://evil|Switchyard SSO&gt;'
 */
export function slackText(text: string, { newlines = 'space' }: { newlines?: 'space' | 'keep' } = {}): string {
  const clean = terminalText(text, { newlines: 'keep' });
  const flat = newlines === 'keep' ? clean : clean.replace(/\n/g, ' ');
  return flat.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** U+02CB MODIFIER LETTER GRAVE ACCENT: looks like a backtick, but closes no code span or block. */
const GRAVE = 'ˋ';

/**
 * `slackText` for inside `code` or a ```code block```: a backtick in the text would end the block
 * (and let what follows be parsed as mrkdwn), so each is shown as ˋ instead.
 */
export function slackCode(text: string): string {
  return slackText(text).replace(/`/g, GRAVE);
}

/** Text for a plain_text object: Slack parses no markup there, so only control characters go. */
export function slackPlain(text: string): string {
  return terminalText(text, { newlines: 'keep' }).replace(/\n/g, ' ');
}

/** A person's comment as a mrkdwn block quote: every line quoted, so none reads as Switchyard's. */
export function slackQuote(text: string): string {
  return slackText(text, { newlines: 'keep' })
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
}

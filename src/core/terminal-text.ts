/**
 * Text Switchyard did not write (a version's log lines and error lines, comments, reasons, labels,
 * image names) made harmless for a terminal: no control function of ECMA-48 (6th ed., 1991) survives,
 * so such text can neither clear the screen, move the cursor over Switchyard's own lines, recolour,
 * retitle the window (OSC 0/2), plant a hyperlink (OSC 8), write the clipboard (OSC 52), nor reset the
 * terminal (ESC c). Printable text, emoji and CJK included, is kept as it was.
 *
 * Removed, sequences first and then any control left over:
 * - control strings: OSC (ESC ] or 0x9D) up to BEL or ST; DCS (ESC P, 0x90), SOS (ESC X, 0x98),
 *   PM (ESC ^, 0x9E) and APC (ESC _, 0x9F) up to ST (ESC \ or 0x9C); an unterminated one to the end
 *   of the text, as a terminal would swallow it;
 * - CSI sequences (ESC [ or 0x9B, parameter bytes 0x30-0x3F, intermediates 0x20-0x2F, final 0x40-0x7E),
 *   nF escapes (ESC, intermediates 0x20-0x2F, final) and two-character escapes (ESC 0x30-0x7E);
 * - every C0 control but TAB (LF as the caller says), DEL, every C1 control (U+0080-U+009F) and a
 *   bare ESC;
 * - the Unicode bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069),
 *   which reorder what follows them on the line ("Trojan Source", CVE-2021-42574).
 */
const SEQUENCE = new RegExp(
  [
    // Control strings, C0 (7-bit) and C1 (8-bit) introducers; lazily up to the first terminator.
    String.raw`(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[\s\S]*?(?:\x07|\x1b\\|\x9c|$)`,
    String.raw`(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?`,
    String.raw`\x1b[\x20-\x2f]+[\x30-\x7e]?`,
    String.raw`\x1b[\x30-\x7e]?`,
  ].join('|'),
  'g',
);

/** What is left after the sequences: C0 but TAB and LF, DEL, C1, and the bidi controls. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point here
const LEFTOVER = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/** Shown in place of a line break inside text that is printed on one line. */
export const LINE_BREAK_MARK = '↵';

export interface TerminalTextOptions {
  /**
   * `mark` (the default) shows a line break as ↵, so text printed on one line, behind its label, cannot
   * start a line of its own that looks like Switchyard's; `keep` keeps it (multi-line messages).
   */
  readonly newlines?: 'mark' | 'keep';
}

/**
 * `text` without any control function a terminal would act on (see above).
 *
 * @example
 * terminalText('\x1b[2J\x1b[32mrelease succeeded\x1b[0m\r') // 'release succeeded'
 */
export function terminalText(text: string, { newlines = 'mark' }: TerminalTextOptions = {}): string {
  const stripped = text.replace(SEQUENCE, '').replace(/\r\n/g, '\n');
  const lines = newlines === 'keep' ? stripped : stripped.replace(/\n/g, LINE_BREAK_MARK);
  return lines.replace(LEFTOVER, '');
}

/**
 * Every string of a value read from the API (keys too), through `terminalText` on one line: what the
 * CLI renders from it can hold no control function, whichever field it prints.
 */
export function terminalSafe<T>(value: T): T {
  if (typeof value === 'string') return terminalText(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => terminalSafe(v)) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [terminalText(k), terminalSafe(v)])) as T;
  return value;
}

/**
 * `value` as JSON for a terminal. JSON.stringify escapes C0 controls but writes DEL, the C1 controls
 * (U+009B is a CSI on many terminals) and the bidi controls as they are: these are written as \u
 * escapes too, so the JSON parses to the same value and the terminal sees no control function.
 */
export function terminalJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(/[\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

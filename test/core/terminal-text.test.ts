import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LINE_BREAK_MARK, terminalJson, terminalSafe, terminalText } from '../../src/core/terminal-text.js';

const ESC = '\u001b';
const BEL = '\u0007';
const ST = `${ESC}\\`;

/** Anything a terminal would act on: C0 but TAB and LF, DEL, C1, bidi controls. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point here
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

describe('terminalText: what a version (or anyone but Switchyard) wrote reaches the terminal without a control function', () => {
  it.each([
    ['clear screen and home', `${ESC}[2J${ESC}[Hboom`, 'boom'],
    ['a fake green "release succeeded" over the line, with \\r', `real error\r${ESC}[2K${ESC}[32;1mrelease succeeded${ESC}[0m`, 'real errorrelease succeeded'],
    ['cursor up and erase below (rewriting lines already printed)', `${ESC}[3A${ESC}[0Jsucceeded`, 'succeeded'],
    ['OSC 0 retitle, ended by BEL', `${ESC}]0;switchyard: all good${BEL}line`, 'line'],
    ['OSC 2 retitle, ended by ST', `${ESC}]2;title${ST}line`, 'line'],
    ['OSC 8 hyperlink around text', `${ESC}]8;;https://evil.example/${ST}Switchyard SSO${ESC}]8;;${ST}`, 'Switchyard SSO'],
    ['OSC 52 clipboard write', `${ESC}]52;c;Y3VybCBldmlsIHwgc2g=${BEL}x`, 'x'],
    ['C1 CSI (U+009B) clear screen', '\u009b2Jafter', 'after'],
    ['C1 OSC (U+009D) retitle ended by C1 ST (U+009C)', '\u009d0;title\u009cafter', 'after'],
    ['DCS string', `${ESC}Pq#0;2;0;0;0#1!6~${ST}after`, 'after'],
    ['APC, PM and SOS strings', `${ESC}_apc${ST}a${ESC}^pm${ST}b${ESC}Xsos${ST}c`, 'abc'],
    ['full reset (ESC c) and save/restore cursor (ESC 7, ESC 8)', `${ESC}c${ESC}7x${ESC}8`, 'x'],
    ['nF escape: screen alignment test fills the screen with E (ESC # 8)', `${ESC}#8ok`, 'ok'],
    ['charset designation (ESC ( 0: line drawing)', `${ESC}(0lqk${ESC}(B`, 'lqk'],
    ['private CSI: hide the cursor, alternate screen', `${ESC}[?25l${ESC}[?1049hx`, 'x'],
    ['an unterminated OSC swallows the rest, as the terminal would', `before${ESC}]0;title without end`, 'before'],
    ['an unterminated CSI', `before${ESC}[12;`, 'before'],
    ['a bare ESC at the end', `before${ESC}`, 'before'],
    ['a CSI broken by a control inside it', `${ESC}[3\u00001mred`, '1mred'],
    ['backspace and delete overwriting', 'abc\b\b\bxyz\u007f', 'abcxyz'],
    ['bell, vertical tab, form feed, NUL', `a${BEL}b\u000bc\u000cd\u0000e`, 'abcde'],
    ['NEL (U+0085) and other C1 controls', 'a\u0085b\u0084c\u008ed', 'abcd'],
    ['bidi override that reverses what follows (Trojan Source)', 'ok \u202edeliaf\u202c \u2066x\u2069', 'ok deliaf x'],
  ])('%s', (_name, input, expected) => {
    expect(terminalText(input)).toBe(expected);
  });

  it('a sequence split across two pieces leaves neither piece with a control function', () => {
    // The version writes the start of an OSC on one line and its end on the next.
    const first = terminalText(`line one ${ESC}]0;`);
    const second = terminalText(`evil title${BEL} line two ${ESC}`);
    const third = terminalText('[2J');
    expect(first + second + third).not.toMatch(CONTROL);
    expect(first + second + third).toBe('line one evil title line two [2J');
  });

  it('keeps printable text as it was: UTF-8, emoji (ZWJ sequences and flags), CJK, combining marks, tabs', () => {
    const text = 'héllo wörld ✓ 🚀 👩‍💻 🇫🇷 日本語のログ 한국어 中文 e\u0301 \tcol ß Ω → │ ████░░';
    expect(terminalText(text)).toBe(text);
  });

  it('a line break is shown as ↵ on one line, or kept when asked; \\r\\n counts as one', () => {
    expect(terminalText('one\ntwo\r\nthree')).toBe(`one${LINE_BREAK_MARK}two${LINE_BREAK_MARK}three`);
    expect(terminalText(`one\n${ESC}[31mtwo\r\n`, { newlines: 'keep' })).toBe('one\ntwo\n');
  });

  it('for any input, the output holds no control character (property)', () => {
    const hostile = fc.array(
      fc.oneof(
        fc.string(),
        fc.constantFrom(ESC, '[', ']', 'P', '_', '^', 'X', '\\', BEL, '\u009b', '\u009c', '\u009d', '\r', '\n', '2J', ';', '?', '#', '(', '\u202e'),
        fc.integer({ min: 0, max: 0x9f }).map((c) => String.fromCharCode(c)),
      ),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(
        hostile.map((parts) => parts.join('')),
        (input) => {
          expect(terminalText(input)).not.toMatch(CONTROL);
          // eslint-disable-next-line no-control-regex -- as above
          expect(terminalText(input, { newlines: 'keep' })).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('for any text without controls, the output is the input (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        fc.pre(!CONTROL.test(text));
        expect(terminalText(text)).toBe(text);
      }),
    );
  });
});

describe('terminalSafe and terminalJson', () => {
  it('terminalSafe cleans every string of a value, nested, keys included; numbers and booleans stay', () => {
    const value = { id: 'r-1', n: 3, ok: true, nested: [{ message: `${ESC}[2Jx`, [`k${ESC}[1m`]: 'v\n' }] };
    expect(terminalSafe(value)).toEqual({ id: 'r-1', n: 3, ok: true, nested: [{ message: 'x', k: `v${LINE_BREAK_MARK}` }] });
  });

  it('terminalJson writes DEL, C1 and bidi controls as \\u escapes: same value, nothing raw for the terminal', () => {
    const value = { message: `a${ESC}[2J\u009b2J\u007f\u202eb` };
    const text = terminalJson(value);
    expect(text).not.toMatch(CONTROL);
    expect(JSON.parse(text)).toEqual(value);
  });
});

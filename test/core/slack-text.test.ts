import { describe, expect, it } from 'vitest';
import { slackCode, slackPlain, slackQuote, slackText } from '../../src/core/slack-text.js';

describe('slackText: what Switchyard did not write arrives in Slack as typed', () => {
  it.each([
    ['@channel ping', '<!channel>', '&lt;!channel&gt;'],
    ['@here ping', 'hi <!here>', 'hi &lt;!here&gt;'],
    ['user mention', '<@U0CEO>', '&lt;@U0CEO&gt;'],
    ['user-group mention', '<!subteam^S0SEC|@security>', '&lt;!subteam^S0SEC|@security&gt;'],
    ['disguised link', '<https://evil.example|Switchyard SSO>', '&lt;https://evil.example|Switchyard SSO&gt;'],
    ['an entity already written stays literal (& first)', '&lt;!channel&gt;', '&amp;lt;!channel&amp;gt;'],
    ['a line break becomes a space', 'one\ntwo', 'one two'],
    ['control characters and escape sequences go', 'a\u001b[2Jb\u009b2Jc\r\u0007d\u202ee', 'abcde'],
    ['text with nothing to escape is kept, emoji and CJK included', 'v2 ✓ 🚀 日本語 *bold*', 'v2 ✓ 🚀 日本語 *bold*'],
  ])('%s', (_name, input, expected) => {
    expect(slackText(input)).toBe(expected);
  });

  it('slackCode: no backtick left to close a code span or block', () => {
    expect(slackCode('x ``` <!here> `y`')).toBe('x ˋˋˋ &lt;!here&gt; ˋyˋ');
  });

  it('slackQuote: every line quoted, so no line of a comment reads as Switchyard’s', () => {
    expect(slackQuote('fine\n*release succeeded* <!here>')).toBe('> fine\n> *release succeeded* &lt;!here&gt;');
  });

  it('slackPlain: plain_text parses no markup, so it is only cleaned of controls and line breaks', () => {
    expect(slackPlain('shop → web:2<x>\n\u001b[1mok')).toBe('shop → web:2<x> ok');
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SlackNotifier } from '../../../src/adapters/slack/slack-notifier.js';
import { createApp } from '../../../src/api/app.js';
import { bearerAuthenticator } from '../../../src/api/auth.js';
import { mountSlackInteractions } from '../../../src/api/slack.js';
import type { Release } from '../../../src/core/release.js';
import { slackCode, slackQuote, slackText } from '../../../src/core/slack-text.js';
import type { MessageRef, NotificationState } from '../../../src/ports/notifier.js';
import { silentLog } from '../../../src/ports/log.js';
import { serviceConfig, startHarness, type Harness } from '../../support/harness.js';
import { canary, release as newRelease, T0 } from '../../support/releases.js';
import { slackClick, SlackStandIn } from '../../support/slack.js';

/**
 * Everything Switchyard posts to Slack, through the real notifier and its Web API client, against a
 * stand-in for Slack's Web API: text Switchyard did not write arrives as literal text. No ping
 * (`<!channel>`, `<!here>`, `<!subteam^…>`, `<@U…>`), no disguised link (`<https://evil|…>`), no code
 * block closed early, no control character.
 */
const ESC = '\u001b';
const PING = '<!channel> <!here> <!subteam^S0SEC|@security> <@U0CEO> <#C0ALL>';
const LINK = '<https://evil.example/sso|Switchyard SSO>';
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

/** In memory, the way the stores keep it: one message per release, and how far its thread has got. */
function memoryState(): NotificationState {
  const messages = new Map<string, MessageRef>();
  const claimed = new Set<string>();
  return {
    claimMessage: async (id) => (claimed.has(id) ? false : (claimed.add(id), true)),
    unclaimMessage: async (id) => void claimed.delete(id),
    saveMessage: async (id, channel, ts) => void messages.set(id, { channel, ts, posted: 0 }),
    getMessage: async (id) => messages.get(id),
    advanceThread: async (id, from, to) => {
      const ref = messages.get(id);
      if (!ref || ref.posted !== from) return false;
      messages.set(id, { ...ref, posted: to });
      return true;
    },
  };
}

/** A release waiting for approval, with hostile text in every field a version or a person chooses. */
function hostileRelease(): Release {
  const base = newRelease(canary, { approvals: { at: ['after-first-step'], timeoutSeconds: 3600, onTimeout: 'rollback' } });
  return {
    ...base,
    phase: 'awaiting_approval',
    weight: 10,
    stepIndex: 2,
    artifact: { image: `checkout-api:1.8.2${PING}` },
    gateResults: [
      {
        gate: 'error-rate',
        verdict: 'error',
        evidence: {},
        summary: `error-rate: could not be read: version said ${PING} ${LINK}`,
        at: at(60),
      },
    ],
    changes: [{ path: 'containerDefinitions[app].environment.BANNER', before: 'hello', after: `\`\`\`\n${PING} ${LINK}` }],
    pendingApproval: {
      id: 'a1',
      stepIndex: 2,
      reason: 'step',
      label: `after-first-step ${PING}`,
      requestedAt: at(60),
      expiresAt: at(3660),
      onTimeout: 'rollback',
    },
    recentErrors: [
      { time: at(50), message: `boom \`\`\` ${PING} ${LINK} & more ${ESC}[2J${ESC}]8;;https://evil${ESC}\\x\u009b2J \`\`\``, source: `task <!here>` },
      { time: at(51), message: 'TypeError: cart is undefined' },
    ],
    recentErrorsLink: 'https://logs.example/insights?release=r1',
    timeline: [
      ...base.timeline,
      { at: at(70), type: 'approved', message: `approved by ${PING}`, actor: { id: `${PING} ${LINK}`, channel: 'api' } },
      {
        at: at(71),
        type: 'rollback_requested',
        message: 'rollback requested',
        actor: { id: 'U0BOB', channel: 'slack' },
        comment: `looks fine ${PING}\n*release succeeded* ${LINK}\r${ESC}[31m`,
      },
    ],
  } as Release;
}

/** Every mrkdwn text a message carries (blocks, fields, context, button confirmations), and its plain texts. */
function textsOf(blocksJson: string): { mrkdwn: string[]; plain: string[]; verbatim: boolean[] } {
  const mrkdwn: string[] = [];
  const plain: string[] = [];
  const verbatim: boolean[] = [];
  JSON.parse(blocksJson, (key, value: unknown) => {
    if (value && typeof value === 'object' && 'type' in value && 'text' in value && typeof value.text === 'string') {
      if (value.type === 'mrkdwn') {
        mrkdwn.push(value.text);
        verbatim.push((value as { verbatim?: boolean }).verbatim === true);
      }
      if (value.type === 'plain_text') plain.push(value.text);
    }
    return value;
  });
  return { mrkdwn, plain, verbatim };
}

/** The `<…>` Slack would parse in `text`: only Switchyard's own may be there. */
const parsed = (text: string) => text.match(/<[^<>]*>/g) ?? [];
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/; // eslint-disable-line no-control-regex -- matching control characters is the point here

let slack: SlackStandIn;
beforeEach(async () => {
  slack = new SlackStandIn();
  await slack.start();
});
afterEach(async () => slack.close());

describe('Slack receives text it shows as typed, never as a ping, a link or markup', () => {
  it('the release message, its notification text and the thread replies: every piece of text Switchyard did not write is escaped', async () => {
    const notifier = new SlackNotifier({
      token: 'xoxb-test',
      apiUrl: `${slack.url}/api/`,
      environment: 'production',
      channels: new Map([['checkout-api', 'C0RELEASES']]),
      state: memoryState(),
      log: silentLog,
    });
    await notifier.releaseChanged(hostileRelease());
    await notifier.idle();

    const [top] = slack.top();
    expect(top).toBeDefined();
    // Slack's automatic parsing stays off for the message and the thread.
    for (const call of [top!, ...slack.replies()]) expect(call.args).toMatchObject({ parse: 'none', link_names: 'false' });

    const { mrkdwn, plain, verbatim } = textsOf(top!.args['blocks']!);
    expect(verbatim.every(Boolean)).toBe(true);
    const all = [top!.args['text']!, ...mrkdwn];
    // The only things Slack may parse are ours: the logs link and the Slack clicker's mention.
    expect(all.flatMap(parsed)).toEqual(["<https://logs.example/insights?release=r1|All of the new version's logs>", '<@U0BOB>']);
    for (const text of [...all, ...plain]) expect(text).not.toMatch(CONTROL);
    expect(all.join('\n')).toContain('&lt;!channel&gt; &lt;!here&gt; &lt;!subteam^S0SEC|@security&gt; &lt;@U0CEO&gt; &lt;#C0ALL&gt;');
    expect(all.join('\n')).toContain('&lt;https://evil.example/sso|Switchyard SSO&gt;');
    // The notification text (what a push notification shows) is escaped too.
    expect(top!.args['text']).toContain('checkout-api:1.8.2&lt;!channel&gt; &lt;!here&gt;');

    // The version's error lines stay inside their code block: it opens once and closes once.
    const errors = mrkdwn.find((t) => t.startsWith("*New version's latest errors*"))!;
    expect(errors.match(/```/g)).toHaveLength(2);
    expect(errors).toContain(slackCode(`boom \`\`\` ${PING}`));
    expect(errors).toContain('&amp; more x ˋˋˋ');
    // So do the task definition changes.
    const changes = mrkdwn.find((t) => t.startsWith('*Task definition changes*'))!;
    expect(changes.match(/```/g)).toHaveLength(2);
    // Gate summaries, the approval's label in the button's confirmation, the decisions' names: escaped.
    expect(mrkdwn.find((t) => t.startsWith('*Gates*'))).toContain(slackText(`version said ${PING} ${LINK}`));
    expect(mrkdwn.some((t) => t.startsWith('Approve *') && t.includes(slackText(`(after-first-step ${PING})`)))).toBe(true);

    // Thread replies: the decision's actor label and the comment are literal; every line of the comment is quoted.
    const replies = slack.replies().map((r) => r.args['text']!);
    expect(replies.flatMap(parsed)).toEqual(['<@U0BOB>']);
    for (const text of replies) expect(text).not.toMatch(CONTROL);
    const rollback = replies.find((t) => t.includes('rollback requested'))!;
    expect(rollback).toContain(slackQuote(`looks fine ${PING}\n*release succeeded* ${LINK}`));
    expect(rollback.split('\n').slice(1)).toEqual([expect.stringMatching(/^> looks fine /), expect.stringMatching(/^> \*release succeeded\* /)]);
  });

  it('the message of a finished release: its reason and the follow-up buttons are escaped', async () => {
    const notifier = new SlackNotifier({
      token: 'xoxb-test',
      apiUrl: `${slack.url}/api/`,
      environment: 'production',
      channels: new Map([['checkout-api', 'C0RELEASES']]),
      state: memoryState(),
      log: silentLog,
    });
    const waiting = hostileRelease();
    const ended = {
      ...waiting,
      phase: 'rolled_back',
      weight: 0,
      pendingApproval: undefined,
      finishedAt: at(90),
      reason: `gate failed: ${PING} ${LINK}`,
      previous: `checkout-api:1.8.1${PING}`,
    } as Release;
    await notifier.releaseChanged(ended);
    await notifier.idle();
    const { mrkdwn } = textsOf(slack.top()[0]!.args['blocks']!);
    // Only the Slack clicker's mention (a user id Slack proved) is parsed.
    expect(mrkdwn.flatMap(parsed)).toEqual(['<@U0BOB>']);
    expect(mrkdwn.join('\n')).toContain(slackText(`gate failed: ${PING} ${LINK}`));
  });

  it('escaping never makes a text object longer than Slack accepts (the whole message would be refused)', async () => {
    const notifier = new SlackNotifier({
      token: 'xoxb-test',
      apiUrl: `${slack.url}/api/`,
      environment: 'production',
      channels: new Map([['checkout-api', 'C0RELEASES']]),
      state: memoryState(),
      log: silentLog,
    });
    const waiting = hostileRelease();
    const long = '<&>'.repeat(400);
    await notifier.releaseChanged({
      ...waiting,
      artifact: { image: `checkout-api:${long}` },
      pendingApproval: { ...waiting.pendingApproval!, label: long },
      gateResults: [{ ...waiting.gateResults[0]!, summary: long.repeat(3) }],
    });
    await notifier.idle();
    const blocks = JSON.parse(slack.top()[0]!.args['blocks']!) as { fields?: { text: string }[]; elements?: { confirm?: { text: { text: string } } }[] }[];
    const { mrkdwn } = textsOf(JSON.stringify(blocks));
    expect(Math.max(...mrkdwn.map((t) => t.length))).toBeLessThanOrEqual(3000);
    for (const field of blocks.flatMap((b) => b.fields ?? [])) expect(field.text.length).toBeLessThanOrEqual(2000);
    const confirms = blocks.flatMap((b) => b.elements ?? []).flatMap((e) => (e.confirm ? [e.confirm.text.text] : []));
    expect(confirms.length).toBeGreaterThan(0);
    for (const text of confirms) expect(text.length).toBeLessThanOrEqual(300);
    expect(mrkdwn.flatMap(parsed)).toEqual(["<https://logs.example/insights?release=r1|All of the new version's logs>", '<@U0BOB>']);
  });
});

describe("Slack's answers to a click quote nothing it would parse", () => {
  let h: Harness | undefined;
  afterEach(async () => h?.close());

  it('a retry of an image someone named with mentions, and an unknown release id: the ephemeral answers are literal', async () => {
    h = await startHarness([serviceConfig('web')]);
    const harness = h;
    const app = createApp({
      releases: harness.releases,
      store: harness.store,
      services: harness.services,
      clock: harness.clock,
      authenticate: bearerAuthenticator('t'),
      extend: (a) => mountSlackInteractions(a, { signingSecret: async () => 'secret', releases: harness.releases, clock: harness.clock, log: silentLog }),
    });
    const click = async (action: string, value: string) => {
      const req = slackClick('secret', 'U0CAROL01', action, value, { timestamp: Math.floor(harness.clock.now() / 1000), responseUrl: `${slack.url}/response` });
      return (await app.request('/slack/interactions', { method: 'POST', headers: req.headers, body: req.body })).json() as Promise<{ message: string }>;
    };
    const image = 'web:2<!channel>';
    harness.metrics.errorRate.set(image, 60);
    const bad = await harness.finish((await harness.releases.startRelease({ service: 'web', image, actor: { id: 'ci', channel: 'api' } })).release.id);
    expect(bad.phase).toBe('rolled_back');

    await click('retry', bad.id);
    await click('rollback', '<!here>');
    const answers = slack.ephemeral.map((e) => e.text);
    expect(answers).toHaveLength(2);
    expect(answers.flatMap(parsed)).toEqual(['<@U0CAROL01>']);
    expect(answers[0]).toContain('(web:2&lt;!channel&gt;)');
    expect(answers[1]).toContain('&lt;!here&gt;');
  });
});

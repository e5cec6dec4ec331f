import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SlackApiError, SlackWebApi } from '../../../src/adapters/slack/slack-web-api.js';
import { TransientError } from '../../../src/core/errors.js';
import { SlackStandIn } from '../../support/slack.js';

const TOKEN = 'xoxb-test-token';

describe('SlackWebApi (the Lambdas’ Slack client) against a stand-in for Slack’s Web API', () => {
  let slack: SlackStandIn;
  let waits: number[];
  let api: SlackWebApi;
  beforeEach(async () => {
    slack = new SlackStandIn();
    await slack.start();
    waits = [];
    api = new SlackWebApi({ token: TOKEN, apiUrl: `${slack.url}/api`, sleep: async (ms) => void waits.push(ms) });
  });
  afterEach(() => slack.close());

  it('posts form fields to /api/<method> with the bot token as a bearer token, blocks as JSON, as Slack’s own client does', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: 'checkout-api 1.8.2 <50%>' } }];
    const posted = await api.chat.postMessage({ channel: 'C0RELEASES', text: 'hello & bye', blocks, unfurl_links: false, parse: 'none' });
    await api.chat.update({ channel: 'C0RELEASES', ts: posted.ts ?? '', text: 'updated', blocks });

    expect(posted).toMatchObject({ ok: true, channel: 'C0RELEASES' });
    expect(slack.calls.map((c) => c.method)).toEqual(['chat.postMessage', 'chat.update']);
    const [post, update] = slack.calls;
    expect(post?.args).toMatchObject({ auth: `Bearer ${TOKEN}`, channel: 'C0RELEASES', text: 'hello & bye', unfurl_links: 'false', parse: 'none' });
    expect(JSON.parse(post?.args['blocks'] ?? '')).toEqual(blocks);
    expect(update?.args).toMatchObject({ ts: posted.ts, text: 'updated' });
    expect(slack.contentTypes).toEqual(['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded']);
  });

  it('a 429 waits its Retry-After, then the call goes through once', async () => {
    slack.failNext = { status: 429, count: 1 };
    await api.chat.postMessage({ channel: 'C1', text: 'x' });
    expect(waits).toEqual([1000]);
    expect(slack.top()).toHaveLength(1);
  });

  it('Slack’s refusal (ok: false) is an error naming the method and Slack’s code, not retried', async () => {
    slack.refuseNext = 'channel_not_found';
    const error = await api.chat.postMessage({ channel: 'C-gone', text: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlackApiError);
    expect((error as Error).message).toBe('slack chat.postMessage failed: channel_not_found');
    expect(waits).toEqual([]);
  });

  it('a Slack that keeps failing is a transient error after two retries', async () => {
    slack.failNext = { status: 500, count: 5 };
    await expect(api.chat.update({ channel: 'C1', ts: '1.2', text: 'x' })).rejects.toBeInstanceOf(TransientError);
    expect(waits).toHaveLength(2);
    expect(slack.failNext.count).toBe(2);
  });

  it('an unreachable Slack is a transient error, never a hang', async () => {
    const nowhere = new SlackWebApi({ token: TOKEN, apiUrl: 'http://127.0.0.1:9/api/', sleep: async () => undefined });
    await expect(nowhere.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toThrow('slack chat.postMessage: no answer');
  });
});

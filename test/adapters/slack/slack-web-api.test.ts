import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

  it('an unreachable Slack (connection refused: nothing sent) is retried, even a post, then a transient error, never a hang', async () => {
    // A port nothing listens on (fetch would refuse port 9 itself, before any connection).
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const nowhere = new SlackWebApi({ token: TOKEN, apiUrl: `http://127.0.0.1:${port}/api/`, sleep: async (ms) => void waits.push(ms) });
    await expect(nowhere.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toThrow('slack chat.postMessage: no answer');
    expect(waits).toHaveLength(2);
  });

  it('a post Slack answers 500 (fatal_error: it may have been posted) is not posted again', async () => {
    slack.failNext = { status: 500, count: 1 };
    await expect(api.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toThrow('slack chat.postMessage: HTTP 500');
    expect(slack.failNext.count).toBe(0);
    expect(slack.top()).toHaveLength(0);
    expect(waits).toEqual([]);
  });

  it('a Retry-After longer than what is left of the budget is not waited: the call ends at once', async () => {
    slack.failNext = { status: 429, count: 1 };
    const error = await api.chat.update({ channel: 'C1', ts: '1.2', text: 'x' }, { deadline: Date.now() + 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(waits).toEqual([]);
  });

  it('retries of an update stop when its budget is spent, however many retries are allowed', async () => {
    let now = 1_000_000;
    const clocked = new SlackWebApi({ token: TOKEN, apiUrl: `${slack.url}/api`, retries: 100, now: () => now, sleep: async (ms) => void (now += ms) });
    slack.failNext = { status: 500, count: 1000 };
    await expect(clocked.chat.update({ channel: 'C1', ts: '1.2', text: 'x' }, { deadline: now + 250 })).rejects.toBeInstanceOf(TransientError);
    // Attempts at 0, 100 and 200 ms; the next would start at 300, past the deadline.
    expect(1000 - slack.failNext.count).toBe(3);
  });
});

describe('SlackWebApi: a post Slack received but answered too late for the client', () => {
  let server: Server;
  let posts = 0;
  beforeEach(async () => {
    posts = 0;
    server = createServer((req, res) => {
      req.resume();
      posts++;
      // Slack posts the message, and answers after the client has given up.
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, channel: 'C1', ts: `${posts}.0` }));
      }, 300);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterEach(() => new Promise<void>((r) => server.close(() => r())));

  it('is not posted again: one message, and a transient error', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
    const client = new SlackWebApi({ token: TOKEN, apiUrl: url, timeoutMs: 100, sleep: async () => undefined });
    await expect(client.chat.postMessage({ channel: 'C1', text: 'release started' })).rejects.toThrow('slack chat.postMessage: no answer');
    // Long enough for a retry's request to have arrived (the stand-in counts it on arrival).
    await new Promise((r) => setTimeout(r, 150));
    expect(posts).toBe(1);
  });
});

import { actorFor, type Person } from '../core/people.js';
import type { Env, Hono } from 'hono';
import * as z from 'zod';
import type { Actor } from '../core/actor.js';
import type { ReleaseService } from '../engine/releases.js';
import { FOLLOW_UPS, HUMAN_DECISIONS } from '../core/approvals.js';
import { verifySlackSignature } from './slack-signature.js';
import type { Log } from '../ports/log.js';
import { messageOf, type ErrorCode, errorBody } from '../core/errors.js';
import { answerFor } from './errors.js';
import type { Clock } from '../ports/clock.js';
import { slackText } from '../core/slack-text.js';

const PayloadSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().regex(/^[UW][A-Z0-9]{2,}$/) }),
  response_url: z.url().optional(),
  trigger_id: z.string().max(200).optional(),
  actions: z
    .array(z.object({ action_id: z.enum([...HUMAN_DECISIONS, ...FOLLOW_UPS]), value: z.string().max(200), action_ts: z.string().max(64).optional() }))
    .min(1),
});

export interface SlackRouteOptions {
  /** Resolves the signing secret (from the environment locally, Secrets Manager on AWS). */
  readonly signingSecret: () => Promise<string | undefined>;
  readonly releases: ReleaseService;
  readonly clock: Clock;
  readonly log: Log;
  /** Configured people: a Slack user id that is a person acts as that person (four-eyes across channels). */
  readonly people?: readonly Person[];
}

/** What the endpoint answers; also posted to the clicker as an ephemeral message. */
export interface SlackAnswer {
  readonly ok: boolean;
  /** The error code when it did not apply (the same codes as the API's). */
  readonly code?: ErrorCode;
  readonly message: string;
}

async function tellUser(responseUrl: string | undefined, text: string, log: Log): Promise<void> {
  if (!responseUrl) return;
  try {
    await fetch(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
      signal: AbortSignal.timeout(1500),
    });
  } catch (error) {
    log.warn('could not answer the Slack user', { error: messageOf(error) });
  }
}

/**
 * `POST /slack/interactions`: button clicks from Slack. The signature is verified over the raw body
 * before anything is parsed; the clicker's Slack user id is checked against the service's approvers
 * (and four-eyes) by the same rules as the API; each action applies at most once.
 */
export function mountSlackInteractions<E extends Env>(app: Hono<E>, options: SlackRouteOptions): void {
  app.post('/slack/interactions', async (c) => {
    const raw = await c.req.text();
    const secret = await options.signingSecret();
    if (!secret) return c.json(errorBody('not_configured', 'Slack is not configured: set the signing secret'), 404);
    const check = verifySlackSignature(secret, c.req.header('x-slack-request-timestamp'), raw, c.req.header('x-slack-signature'), options.clock.now());
    if (!check.ok) {
      options.log.warn('refused a Slack request', { reason: check.reason });
      return c.json(errorBody('unauthorized', `Slack signature refused: ${check.reason}`), 401);
    }
    let payload: z.infer<typeof PayloadSchema>;
    try {
      const form = new URLSearchParams(raw);
      payload = PayloadSchema.parse(JSON.parse(form.get('payload') ?? ''));
    } catch {
      return c.json(errorBody('validation_error', 'payload: expected a block_actions interaction with a Switchyard button'), 400);
    }
    const [action] = payload.actions;
    if (!action) return c.json(errorBody('validation_error', 'payload.actions: empty'), 400);
    const [releaseId = '', approvalId] = action.value.split('|');
    const actor: Actor = actorFor(options.people ?? [], { slack: payload.user.id }, 'slack', payload.user.id);
    // Slack sends a click again when it got no 200 within 3 s: the same click (its trigger and its
    // action's time) is one decision, and its replay answers as the first did.
    const key =
      payload.trigger_id !== undefined || action.action_ts !== undefined
        ? `slack:${payload.user.id}:${payload.trigger_id ?? ''}:${action.action_ts ?? ''}`
        : undefined;
    let answer: SlackAnswer;
    try {
      const before = await options.releases.get(releaseId);
      const id = action.action_id;
      if (id === 'retry' || id === 'undo') {
        // Follow-ups of a finished release start a new one (its own message follows).
        const { release } =
          id === 'retry'
            ? await options.releases.retry(releaseId, actor, undefined, key)
            : await options.releases.undo(before.service, actor, undefined, releaseId, key);
        // The answer is mrkdwn: what Switchyard did not write (ids from the button, the image) is escaped;
        // the clicker's mention is ours (a Slack user id, checked by the schema above).
        answer = {
          ok: true,
          message: `${id} of ${slackText(releaseId)} started release ${slackText(release.id)} (${slackText(release.artifact.image)}), by <@${payload.user.id}>`,
        };
      } else {
        // A button from an older approval must not approve a newer one: the engine checks the approval's id.
        await options.releases.act(releaseId, id, actor, undefined, key, id === 'approve' || id === 'reject' ? (approvalId ?? '') : undefined);
        answer = {
          ok: true,
          message: `${action.action_id} of ${slackText(releaseId)} applied by <@${payload.user.id}>${actor.person ? ` (${slackText(actor.person)})` : ''}`,
        };
      }
    } catch (error) {
      // Whatever went wrong, the clicker gets an answer, read from the same table as the API's.
      const failure = answerFor(error);
      if (failure.internal) options.log.error('slack action failed', { releaseId, action: action.action_id, error: messageOf(error) });
      // A refusal can quote what others chose (a release id from the button, an actor's label, a reason).
      answer = { ok: false, code: failure.code, message: slackText(failure.message) };
    }
    options.log.info('slack action', { releaseId, action: action.action_id, user: actor.id, ok: answer.ok });
    await tellUser(payload.response_url, answer.ok ? `:white_check_mark: ${answer.message}` : `:warning: ${answer.message}`, options.log);
    return c.json(answer, 200);
  });
}

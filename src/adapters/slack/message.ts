import { formatChange } from '../../core/task-diff.js';
import { FOLLOW_UPS, HUMAN_DECISIONS, type FollowUp, type HumanDecision } from '../../core/approvals.js';
import { formatDuration, trafficBar } from '../../core/duration.js';
import { toReleaseView } from '../../contract/release-view.js';
import { type Actor } from '../../core/actor.js';
import { type Release } from '../../core/release.js';
import { DECISION_EVENTS, type TimelineEvent } from '../../core/timeline.js';
import { slackCode, slackPlain, slackQuote, slackText } from '../../core/slack-text.js';

/** The buttons of a release message; the value carries short ids, never a task token. */
export const SLACK_ACTIONS = [...HUMAN_DECISIONS, ...FOLLOW_UPS] as const;
export type SlackAction = HumanDecision | FollowUp;

type Block = Record<string, unknown>;

/**
 * A mrkdwn text object. `verbatim: true` because much of what these carry was not written by
 * Switchyard: Slack then does no automatic parsing of plain text (no URL, channel name or mention is
 * turned into a link or a ping) and still renders our own markup
 * (https://docs.slack.dev/reference/block-kit/composition-objects/text-object). Every piece of text
 * Switchyard did not write goes through slackText / slackCode / slackQuote (core/slack-text.ts) too.
 */
const mrkdwn = (text: string, max = 3000) => ({ type: 'mrkdwn', text: text.slice(0, max), verbatim: true });

/**
 * Slack refuses a whole message whose text object is over its limit (3,000 characters; 2,000 for a
 * field; 300 for a confirmation's text), and escaping lengthens text (`&` becomes `&amp;`): each
 * object is cut to its limit, so a long label or reason cannot keep the approval message from posting.
 */
const FIELD_MAX = 2000;
const CONFIRM_MAX = 300;

/** `repo:tag@sha256:abcdef…` -> `repo:tag` and `abcdef1`. */
export function imageParts(release: Release): { name: string; shortDigest?: string } {
  const image = release.artifact.image;
  const withoutDigest = image.split('@')[0] ?? image;
  const name = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  const digest = release.artifact.digest?.replace(/^sha256:/, '').slice(0, 12);
  return digest ? { name, shortDigest: digest } : { name };
}

const PHASE_EMOJI: Record<string, string> = {
  succeeded: ':white_check_mark:',
  rolled_back: ':leftwards_arrow_with_hook:',
  failed: ':x:',
  cancelled: ':heavy_minus_sign:',
  superseded: ':fast_forward:',
  awaiting_approval: ':raised_hand:',
  rolling_back: ':rewind:',
};

function button(action: SlackAction, value: string, text: string, style: 'primary' | 'danger' | undefined, confirm: string): Block {
  return {
    type: 'button',
    action_id: action,
    text: { type: 'plain_text', text },
    value,
    ...(style ? { style } : {}),
    confirm: {
      title: { type: 'plain_text', text: `${text}?` },
      text: mrkdwn(confirm, CONFIRM_MAX),
      confirm: { type: 'plain_text', text },
      deny: { type: 'plain_text', text: 'Cancel' },
    },
  };
}

/** The one message of a release, as it stands now. */
export function releaseMessage(release: Release, environment: string): { text: string; blocks: Block[] } {
  const { name, shortDigest } = imageParts(release);
  // The contract's view, for everyone in the channel: each click is checked for its clicker by the API's rule.
  const view = toReleaseView(release, { now: Date.parse(release.updatedAt), viewer: 'everyone' });
  const total = view.step.total;
  const current = view.steps.find((s) => s.status === 'current');
  const emoji = PHASE_EMOJI[release.phase] ?? ':arrows_counterclockwise:';
  // The notification text is mrkdwn too (chat.postMessage's `text`): everything in it is escaped.
  const text = `${emoji} ${slackText(release.service)} (${slackText(environment)}): ${slackText(name)} is ${release.phase.replace('_', ' ')}, ${release.weight}% on the new version`;
  const fields = [
    `*Image*\n\`${slackCode(name)}\`${shortDigest ? ` (${slackText(shortDigest)})` : ''}`,
    `*Strategy*\n${slackText(release.plan.strategy)}`,
    `*Phase*\n${release.phase.replace('_', ' ')}`,
    `*Step*\n${view.final ? `${total} of ${total}` : `${view.step.index} of ${total}${current ? `: ${slackText(current.label)}` : ''}`}`,
    ...(view.countdown ? [`*Until*\n${slackText(view.countdown.label)} ends ${view.countdown.endsAt.slice(11, 16)} UTC`] : []),
    ...(view.paused ? [`*Paused*\nby ${who(view.paused.by)}, ${formatDuration(view.paused.bakeLeftSeconds)} of the bake left`] : []),
  ];
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: slackPlain(`${release.service} → ${name} (${environment})`).slice(0, 150) } },
    { type: 'section', fields: fields.map((f) => mrkdwn(f, FIELD_MAX)) },
    { type: 'section', text: mrkdwn(`\`${trafficBar(release.weight)}\` *${release.weight}%* new · ${100 - release.weight}% stable`) },
  ];
  if (release.gateResults.length > 0) {
    const lines = release.gateResults.map(
      (g) => `${g.verdict === 'pass' ? ':large_green_circle:' : g.verdict === 'fail' ? ':red_circle:' : ':white_circle:'} ${slackText(g.summary)}`,
    );
    blocks.push({ type: 'section', text: mrkdwn(`*Gates*\n${lines.join('\n')}`.slice(0, 3000)) });
  }
  if (release.changes && release.changes.length > 0 && !view.final) {
    // What the person approving is letting through besides the image (env vars, CPU, secrets, sidecars).
    // Values from the task definition (environment variables, images) are escaped inside the code block.
    const shown = release.changes.slice(0, 12).map((c) => slackCode(formatChange(c)));
    const more = release.changes.length - shown.length;
    const text = `*Task definition changes*\n\`\`\`${shown.join('\n')}${more > 0 ? `\n… and ${more} more` : ''}\`\`\``;
    blocks.push({ type: 'section', text: mrkdwn(text.slice(0, 3000)) });
  }
  if (release.pendingApproval && release.recentErrors && release.recentErrors.length > 0) {
    // What the new version has been complaining about, for the person deciding: the version wrote
    // these lines, so each is escaped and cannot close the code block (``` in a line) to add mrkdwn.
    const lines = release.recentErrors.map((e) => slackCode(`${e.time.slice(11, 19)} ${e.source ? `[${e.source}] ` : ''}${e.message}`));
    // The link is ours (a console or dashboard address); one that could break out of <…|…> is left out.
    const link =
      release.recentErrorsLink && /^https?:\/\/[^\s<>|]+$/.test(release.recentErrorsLink)
        ? `\n<${release.recentErrorsLink}|All of the new version's logs>`
        : '';
    const body = `*New version's latest errors*\n\`\`\`${lines.join('\n')}`.slice(0, 2900 - link.length);
    blocks.push({ type: 'section', text: mrkdwn(`${body}\`\`\`${link}`) });
  }
  const decisions = release.timeline.filter((e) => e.actor && DECISION_EVENTS.has(e.type));
  if (decisions.length > 0) {
    blocks.push({
      type: 'context',
      elements: decisions.slice(-5).map((e) => mrkdwn(e.actor ? `${slackText(e.message)} (${who(e.actor)})` : slackText(e.message))),
    });
  }
  if (view.final) {
    // What a person may start from here: undo a release that shipped, retry one that did not.
    const followUps = view.followUps.map((f) =>
      f === 'undo'
        ? button(
            'undo',
            release.id,
            'Undo',
            'danger',
            `Send ${slackText(release.service)} straight back to ${release.previous ? slackText(release.previous) : 'the version before'} (readiness check, no bakes)?`,
          )
        : button('retry', release.id, 'Retry', undefined, `Start a new release of *${slackText(name)}* for ${slackText(release.service)}?`),
    );
    const started = Date.parse(release.createdAt);
    const ended = Date.parse(release.finishedAt ?? release.updatedAt);
    blocks.push({
      type: 'section',
      text: mrkdwn(
        `${emoji} *${release.phase.replace('_', ' ')}* in ${formatDuration(Math.round((ended - started) / 1000))}${release.reason ? `\n${slackText(release.reason)}` : ''}`.slice(
          0,
          3000,
        ),
      ),
    });
    if (followUps.length > 0) blocks.push({ type: 'actions', block_id: `release:${release.id}`, elements: followUps });
  } else {
    const buttons: Block[] = [];
    const pending = release.pendingApproval;
    // Only the buttons the release's state allows (the core's rule, shared with the API).
    for (const decision of view.decisions) {
      if (decision === 'approve' && pending)
        buttons.push(
          button(
            'approve',
            `${release.id}|${pending.id}`,
            'Approve',
            'primary',
            `Approve *${slackText(name)}* for ${slackText(release.service)} (${slackText(pending.label)})?`,
          ),
        );
      if (decision === 'reject' && pending)
        buttons.push(
          button('reject', `${release.id}|${pending.id}`, 'Reject', 'danger', `Reject *${slackText(name)}*? Traffic goes back to the stable version.`),
        );
      if (decision === 'promote')
        buttons.push(
          button(
            'promote',
            release.id,
            'Promote',
            undefined,
            `Skip the remaining steps and send 100% of ${slackText(release.service)} to *${slackText(name)}*?`,
          ),
        );
      if (decision === 'pause')
        buttons.push(
          button(
            'pause',
            release.id,
            'Pause',
            undefined,
            view.pauseUntil
              ? `Hold *${slackText(name)}* at ${release.weight}% for at most ${formatDuration(Math.round((Date.parse(view.pauseUntil) - Date.parse(view.at)) / 1000))} (until ${view.pauseUntil.slice(11, 16)} UTC)? The target holds this step no longer: unless someone resumes it by then, the release rolls back. Its bake stops counting; a failing gate still rolls it back.`
              : `Hold *${slackText(name)}* at ${release.weight}% until someone resumes it? Its bake stops counting; a failing gate still rolls it back.`,
          ),
        );
      if (decision === 'resume')
        buttons.push(button('resume', release.id, 'Resume', 'primary', `Let *${slackText(name)}* go on? Its bake continues with the time it had left.`));
      if (decision === 'rollback')
        buttons.push(
          button(
            'rollback',
            release.id,
            release.phase === 'queued' ? 'Cancel' : 'Roll back',
            'danger',
            `Send 100% of ${slackText(release.service)} back to the stable version?`,
          ),
        );
    }
    if (buttons.length > 0) blocks.push({ type: 'actions', block_id: `release:${release.id}`, elements: buttons });
  }
  return { text, blocks };
}

/** Slack users are mentioned; API and system actors are named. */
function who(actor: Actor): string {
  // A Slack user id (proven by Slack's signature, and of the form that cannot break out) is mentioned;
  // a configured person, or a label someone chose, is named as text.
  const slackUser = actor.proof?.by === 'slack-signature' ? actor.proof.subject : actor.channel === 'slack' ? actor.id : undefined;
  const mention = slackUser !== undefined && /^[UW][A-Z0-9]{2,}$/.test(slackUser) ? `<@${slackUser}>` : undefined;
  return mention ?? `${slackText(actor.id)} via ${actor.channel}${actor.proof?.by === 'shared-token' ? ', shared token' : ''}`;
}

/** A thread reply for one timeline event. */
export function threadReply(event: TimelineEvent): string {
  const time = event.at.slice(11, 19);
  return `\`${slackCode(time)}\` ${slackText(event.message)}${event.actor ? ` — ${who(event.actor)}` : ''}${event.comment ? `\n${slackQuote(event.comment)}` : ''}`;
}

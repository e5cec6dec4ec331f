import { signSlackRequest } from '../../src/api/slack-signature.js';

/** A request body signed the way Slack signs it, with the headers Slack sends. */
export function signedSlackRequest(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): { body: string; headers: Record<string, string> } {
  return {
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signSlackRequest(secret, timestamp, body) },
  };
}

/** A signed `block_actions` interaction: `user` clicked the button `action` whose value is `value`. */
export function slackClick(secret: string, user: string, action: string, value: string, { timestamp, responseUrl }: { timestamp?: number; responseUrl?: string } = {}) {
  const payload = {
    type: 'block_actions',
    user: { id: user },
    channel: { id: 'C0RELEASES' },
    message: { ts: '1700000000.000001' },
    ...(responseUrl ? { response_url: responseUrl } : {}),
    actions: [{ action_id: action, value, type: 'button' }],
  };
  return signedSlackRequest(secret, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), timestamp);
}

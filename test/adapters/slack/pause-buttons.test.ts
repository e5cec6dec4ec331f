import { describe, expect, it } from 'vitest';
import { releaseMessage } from '../../../src/adapters/slack/message.js';
import { decide } from '../../../src/core/decide.js';
import { pauseRelease } from '../../../src/core/pause.js';
import type { Release } from '../../../src/core/release.js';
import { markDeployed, markShifted } from '../../../src/core/transitions.js';
import { T0, canary, release } from '../../support/releases.js';

/** The release message offers Pause during a bake where the driver can hold, and Resume once paused, as the contract does. */

type Button = { action_id: string; value: string; text: { text: string }; confirm?: unknown };
const buttonsOf = (r: Release): Button[] => releaseMessage(r, 'production').blocks.flatMap((b) => (b['type'] === 'actions' ? (b['elements'] as Button[]) : []));

/** A canary baking at 10%, on a driver that can hold (`can`) or cannot. */
function baking(hold: NonNullable<Release['settings']['hold']>): Release {
  let r = markDeployed(decide(release(canary, { settings: { hold } }), [], T0).release, T0);
  r = markShifted(r, 10, 1, T0 + 1000);
  return decide(r, [], T0 + 1000).release;
}

describe('Slack: pause and resume buttons', () => {
  it('a bake on a driver that holds offers Pause (with a confirm); once paused, Resume, and the message says who paused it', () => {
    const r = baking({ can: true });
    expect(r.phase).toBe('baking');
    expect(buttonsOf(r).map((b) => b.action_id)).toEqual(['promote', 'rollback', 'pause']);
    expect(buttonsOf(r).find((b) => b.action_id === 'pause')).toMatchObject({ value: r.id, text: { text: 'Pause' }, confirm: expect.anything() });
    const paused = pauseRelease(r, { id: 'U0CAROL', channel: 'slack', proof: { by: 'slack-signature', subject: 'U0CAROL' } }, T0 + 60_000);
    expect(buttonsOf(paused).map((b) => b.action_id)).toEqual(['promote', 'rollback', 'resume']);
    expect(JSON.stringify(releaseMessage(paused, 'production').blocks)).toContain('*Paused*\\nby <@U0CAROL>, 4m 1s of the bake left');
  });

  it('a driver that cannot hold offers no Pause', () => {
    expect(buttonsOf(baking({ can: false, why: 'CodeDeploy moves on its own timer' })).map((b) => b.action_id)).toEqual(['promote', 'rollback']);
  });
});

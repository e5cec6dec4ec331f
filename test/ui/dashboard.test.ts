import { copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalMode, type LocalMode } from '../../src/composition/local-mode.js';
import { resolveConfig } from '../../src/config/config.js';
import { LoadGenerator } from '../../src/local/load.js';
import { launchChromium } from '../support/chromium.js';
import { demoTarget } from '../support/demo.js';
import { releaseUntil } from '../support/poll.js';
import { toReleaseView } from '../../src/contract/index.js';
import type { Actor } from '../../src/core/actor.js';

/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against local mode
 * with real processes. `npm run screenshot` runs this file with SCREENSHOT set, which copies the
 * release view's screenshot to docs/dashboard.png for the README.
 */

const SHARED = 'shared-token-0123456789';
const ALICE = 'alice-token-0123456789';
const BOB = 'bob-token-0123456789ab';
let mode: LocalMode;
let load: LoadGenerator;
let browser: Browser;
const external: string[] = [];
/** Whatever the browser refused under the Content-Security-Policy, and any error the page threw. */
const violations: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  const config = resolveConfig({
    services: [
      {
        name: 'demo',
        target: demoTarget({ replicas: 2, readiness: { path: '/ready', interval: 0, timeout: '5s' }, drainTimeout: '3s', env: { STARTUP_MS: '50' } }),
        strategy: { type: 'canary', steps: [{ percent: 20, bake: '2s' }], finalBake: '1s' },
        gates: {
          metrics: [
            { name: 'error-rate', metric: 'ErrorRate', statistic: 'Average', comparison: 'GreaterThanThreshold', threshold: 5, period: '2s', minSamples: 5 },
          ],
          checkInterval: '1s',
          maxExtension: '2s',
        },
        approvals: { at: ['after-first-step'], approvers: ['alice'], timeout: '10m' },
      },
      {
        // A long bake with nothing to watch: it stands still for as long as a person looks at it.
        name: 'hold',
        target: demoTarget({ port: 8090, readiness: { path: '/ready', interval: 0, timeout: '5s' }, env: { STARTUP_MS: '50' } }),
        strategy: { type: 'canary', steps: [{ percent: 20, bake: '10m' }], finalBake: '1s' },
        gates: { metrics: [], checkInterval: '60s' },
        approvals: { approvers: ['alice'] },
      },
      // Four-eyes: only a proven person may start it (the shared token may not).
      {
        name: 'ledger',
        target: demoTarget({ port: 8092, env: { STARTUP_MS: '50' } }),
        strategy: { type: 'canary', steps: [{ percent: 50, bake: '1s' }], finalBake: '1s' },
        approvals: { approvers: ['alice'], fourEyes: true },
      },
    ],
    people: [
      { name: 'alice', localToken: 'ALICE_TOKEN' },
      { name: 'bob', localToken: 'BOB_TOKEN' },
    ],
  });
  mode = await startLocalMode({
    config,
    port: 0,
    inMemory: true,
    ephemeralPorts: true,
    token: SHARED,
    env: { ALICE_TOKEN: ALICE, BOB_TOKEN: BOB },
  });
  const target = mode.targets.get('demo');
  load = new LoadGenerator({ url: `http://127.0.0.1:${target?.proxy.productionPort ?? 0}/`, requestsPerSecond: 60, concurrency: 4 });
  load.start();
}, 15 * 60_000); // a fresh machine installs Chromium first (test/support/chromium.ts)

afterAll(async () => {
  await browser?.close();
  await load?.stop();
  await mode?.stop();
  expect(external).toEqual([]);
  expect(violations).toEqual([]);
});

async function page(): Promise<Page> {
  const p = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const origin = new URL(mode.apiUrl).origin;
  // The page asks nothing of any other origin: no CDN, no fonts, no analytics.
  p.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) external.push(r.url());
  });
  p.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  p.on('pageerror', (e) => violations.push(e.message));
  return p;
}

async function signIn(p: Page, token: string): Promise<void> {
  await p.goto(`${mode.apiUrl}/ui`);
  await p.getByLabel('API token').fill(token);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { name: 'Services' }).waitFor();
}

/** The buttons the decision card shows are exactly the contract's offer to this caller, in its order. */
async function expectOffered(p: Page, id: string, viewer: Actor): Promise<string[]> {
  const expected = async () => {
    const r = await mode.runtime.deps.store.get(id);
    const view = toReleaseView(r!, { now: Date.now(), viewer });
    return [...view.decisions, ...view.followUps];
  };
  const shown = () => p.locator('#decision [data-action]').evaluateAll((buttons) => buttons.map((b) => b.getAttribute('data-action')));
  await expect.poll(async () => JSON.stringify(await shown()) === JSON.stringify(await expected()), { timeout: 10_000 }).toBe(true);
  return (await shown()) as string[];
}

/** Each service's start buttons are exactly what the API's service view offers this token, in its order. */
async function expectStarts(p: Page, token: string): Promise<Record<string, string[]>> {
  const res = await fetch(`${mode.apiUrl}/services`, { headers: { authorization: `Bearer ${token}` } });
  const { services } = (await res.json()) as { services: { name: string; offer: { starts: string[] } }[] };
  const offered = Object.fromEntries(services.map((s) => [s.name, s.offer.starts]));
  const shown = async () =>
    Object.fromEntries(
      await Promise.all(
        services.map(async (s) => {
          const buttons = p.getByRole('region', { name: `service ${s.name}` }).locator('form.start button');
          return [s.name, await buttons.evaluateAll((b) => b.map((x) => x.getAttribute('value')))] as const;
        }),
      ),
    );
  await expect.poll(async () => JSON.stringify(await shown()) === JSON.stringify(offered), { timeout: 10_000 }).toBe(true);
  return offered;
}

const alice: Actor = { id: 'alice', channel: 'api', person: 'alice' };
const bob: Actor = { id: 'bob', channel: 'api', person: 'bob' };

describe('the dashboard in Chromium', () => {
  it('is served as files with a Content-Security-Policy that allows no inline script or style, nosniff and no referrer', async () => {
    for (const path of ['/ui', '/ui/dashboard.js', '/ui/dashboard.css']) {
      const res = await fetch(`${mode.apiUrl}${path}`);
      expect(res.status, path).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
    const html = await (await fetch(`${mode.apiUrl}/ui`)).text();
    expect(html).not.toMatch(/<script>|<script type="module">|<style|style="/);
  });

  it('a wrong token is refused at sign-in, with the reason', async () => {
    const p = await page();
    await p.goto(`${mode.apiUrl}/ui`);
    await p.getByLabel('API token').fill('not-the-token');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => p.locator('#login-error').textContent()).toContain('missing or wrong credentials');
    await p.close();
  });

  it('follows a live release, explains a refused approval, approves from the decision card, and the release goes on', async () => {
    const p = await page();
    await signIn(p, BOB);
    await expect.poll(() => p.getByRole('region', { name: 'service demo' }).textContent()).toContain('2/2 replicas');
    const { release } = await mode.runtime.releases.startRelease({ service: 'demo', image: 'v2', actor: { id: 'ci', channel: 'api' } });
    await p.goto(`${mode.apiUrl}/ui#/releases/${release.id}`);
    // Live: the chart's last point follows what the API says, without a reload.
    await p.locator('main[data-phase="awaiting_approval"]').waitFor({ timeout: 30_000 });
    const api = (await (await fetch(`${mode.apiUrl}/releases/${release.id}`)).json()) as { traffic: { candidate: number } };
    expect(api.traffic.candidate).toBe(20);
    expect(await p.locator('#traffic-chart svg').getAttribute('data-last')).toBe('20');
    await expect.poll(() => p.getByRole('region', { name: 'gates' }).textContent()).toContain('error-rate');
    // The gate charts come from the release's own history, so a page opened mid-release still sees the past checks.
    const errorChart = p
      .getByRole('region', { name: 'gates' })
      .locator('div', { has: p.getByRole('heading', { name: /^error-rate/ }) })
      .locator('svg');
    await expect
      .poll(async () => {
        const api = (await (await fetch(`${mode.apiUrl}/releases/${release.id}`)).json()) as { gateHistory?: Record<string, unknown[]> };
        return Number(await errorChart.getAttribute('data-points')) === (api.gateHistory?.['error-rate']?.length ?? -1);
      })
      .toBe(true);
    expect(Number(await errorChart.getAttribute('data-points'))).toBeGreaterThan(0);
    const decision = p.getByRole('region', { name: 'decision' });
    expect(await decision.textContent()).toContain('Waiting for a person: after-first-step');

    const shot = join(tmpdir(), `switchyard-dashboard-${process.pid}.png`);
    await p.screenshot({ path: shot, fullPage: true });
    if (process.env['SCREENSHOT']) {
      mkdirSync(dirname(process.env['SCREENSHOT']), { recursive: true });
      copyFileSync(shot, process.env['SCREENSHOT']);
    }

    // Bob is not an approver: he is offered only what he may take, and the card says why, in the core's words.
    expect(await expectOffered(p, release.id, bob)).toEqual(['rollback']);
    expect(await decision.textContent()).toContain('Approve: bob is not an approver: approve needs one of alice (service demo)');
    expect(await decision.locator('.countdown').textContent()).toMatch(/approval \(after-first-step\): \d+m( \d+s)? left/);

    // A release queued behind it is offered no Promote: only what the core allows a queued release (cancel, by rolling back).
    const queued = await mode.runtime.releases.startRelease({ service: 'demo', image: 'v4', actor: { id: 'ci', channel: 'api' } });
    expect(queued.release.phase).toBe('queued');
    await p.goto(`${mode.apiUrl}/ui#/releases/${queued.release.id}`);
    await p.locator('main[data-phase="queued"]').waitFor();
    expect(await expectOffered(p, queued.release.id, bob)).toEqual(['rollback']);
    await mode.runtime.releases.act(queued.release.id, 'rollback', { id: 'ci', channel: 'api' });
    await releaseUntil(mode.runtime.deps.store, queued.release.id, (r) => r.phase === 'cancelled');
    await p.goto(`${mode.apiUrl}/ui#/releases/${release.id}`);
    await p.locator('main[data-phase="awaiting_approval"]').waitFor();
    expect((await mode.runtime.deps.store.get(release.id))?.phase).toBe('awaiting_approval');

    // Alice approves, with the keyboard: the dialog's confirm button takes Enter.
    await p.evaluate('sessionStorage.clear()');
    await signIn(p, ALICE);
    await p.goto(`${mode.apiUrl}/ui#/releases/${release.id}`);
    await p.locator('main[data-phase="awaiting_approval"]').waitFor();
    expect(await expectOffered(p, release.id, alice)).toEqual(['approve', 'reject', 'promote', 'rollback']);
    await p.getByRole('region', { name: 'decision' }).getByRole('button', { name: 'Approve' }).focus();
    await p.keyboard.press('Enter');
    await p.getByLabel('Comment (optional)').fill('looks good on 20%');
    await p.getByRole('dialog').getByRole('button', { name: 'Approve' }).focus();
    await p.keyboard.press('Enter');
    await p.locator('main[data-phase="succeeded"]').waitFor({ timeout: 30_000 });
    expect(await p.locator('#traffic-chart svg').getAttribute('data-last')).toBe('100');
    // Finished: the follow-up the contract offers (undo), and how long it took.
    expect(await expectOffered(p, release.id, alice)).toEqual(['undo']);
    expect(await p.locator('.duration').textContent()).toMatch(/^took \d+/);
    const timeline = await p.getByRole('region', { name: 'timeline' }).textContent();
    expect(timeline).toContain('alice');
    expect(timeline).toContain('looks good on 20%');
    const done = await releaseUntil(mode.runtime.deps.store, release.id, (r) => r.phase === 'succeeded');
    expect(done.approvals.at(-1)?.actor?.id).toBe('alice');
    await p.close();
  }, 90_000);

  it('pauses a bake from the decision card and resumes it: the buttons are the contract’s, the card says who paused it', async () => {
    const p = await page();
    await signIn(p, ALICE);
    const { release } = await mode.runtime.releases.startRelease({ service: 'hold', image: 'v2', actor: { id: 'ci', channel: 'api' } });
    await releaseUntil(mode.runtime.deps.store, release.id, (r) => r.phase === 'baking' && r.weight === 20, { timeoutMs: 30_000 });
    await p.goto(`${mode.apiUrl}/ui#/releases/${release.id}`);
    await p.locator('main[data-phase="baking"]').waitFor();
    expect(await expectOffered(p, release.id, alice)).toEqual(['promote', 'rollback', 'pause']);
    const decision = p.getByRole('region', { name: 'decision' });
    await decision.getByRole('button', { name: 'Pause' }).click();
    await p.getByLabel('Comment (optional)').fill('checking a report');
    await p.getByRole('dialog').getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => decision.textContent(), { timeout: 10_000 }).toContain('Paused by alice');
    expect(await decision.textContent()).toMatch(/Held at 20% since .* \(“checking a report”\); (9m( \d+s)?|10m) of the bake left when it resumes\./);
    expect(await expectOffered(p, release.id, alice)).toEqual(['promote', 'rollback', 'resume']);
    await decision.getByRole('button', { name: 'Resume' }).click();
    await p.getByRole('dialog').getByRole('button', { name: 'Resume' }).click();
    const resumed = await releaseUntil(mode.runtime.deps.store, release.id, (r) => r.timeline.some((e) => e.type === 'resumed'), { timeoutMs: 10_000 });
    expect(resumed.paused).toBeUndefined();
    await expect.poll(() => decision.textContent(), { timeout: 10_000 }).toContain('Steer this release');
    await mode.runtime.releases.act(release.id, 'rollback', alice);
    await releaseUntil(mode.runtime.deps.store, release.id, (r) => r.phase === 'rolled_back', { timeoutMs: 30_000 });
  });

  it('shows the faulty version’s error lines on its release and in the logs view; history filters by phase', async () => {
    const p = await page();
    await signIn(p, ALICE);
    const { release } = await mode.runtime.releases.startRelease({ service: 'demo', image: 'v3-faulty', actor: { id: 'ci', channel: 'api' } });
    await releaseUntil(mode.runtime.deps.store, release.id, (r) => r.phase === 'rolled_back', { timeoutMs: 30_000 });
    await p.goto(`${mode.apiUrl}/ui#/releases/${release.id}`);
    await expect.poll(() => p.locator('#errors').textContent(), { timeout: 10_000 }).toContain('simulated failure on GET /');
    await p.getByRole('link', { name: 'all logs →' }).click();
    await expect.poll(() => p.getByRole('region', { name: 'log lines' }).textContent()).toContain('[v3-faulty#');
    await p.goto(`${mode.apiUrl}/ui#/?phase=rolled_back`);
    await expect.poll(() => p.locator('tbody').first().textContent()).toContain(release.id);
    expect(await p.locator('tbody').first().textContent()).not.toContain('succeeded');
    // Readable on a phone: the release view fits a 390-pixel screen without sideways scrolling.
    await p.setViewportSize({ width: 390, height: 800 });
    await p.goto(`${mode.apiUrl}/ui#/releases/${release.id}`);
    await p.getByRole('region', { name: 'traffic' }).waitFor();
    expect(await p.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    // Chart text keeps the page's size on a phone (it is HTML beside the drawing, not scaled with it).
    const smallest = await p.evaluate<number>(
      "Math.min(...[...document.querySelectorAll('#traffic-chart .axis, #traffic-chart .axis span')].map((e) => parseFloat(getComputedStyle(e).fontSize)))",
    );
    expect(smallest).toBeGreaterThanOrEqual(11);
    // A rolled-back release offers Retry to an approver; its buttons keep apart.
    expect(await expectOffered(p, release.id, alice)).toEqual(['retry']);
    await p.close();
  }, 90_000);

  it('offers Start (and Expedite) on a service only where the API offers it, and starts a release with an Idempotency-Key', async () => {
    const p = await page();
    // The shared token may start demo and hold (not expedite: that is an approver's), and not ledger (four-eyes: a proven person).
    await signIn(p, SHARED);
    expect(await expectStarts(p, SHARED)).toEqual({ demo: ['start'], hold: ['start'], ledger: [] });
    expect(await p.getByRole('region', { name: 'service ledger' }).textContent()).toContain('Start: the shared token cannot start: it needs a proven person');
    expect(await p.getByRole('region', { name: 'service demo' }).textContent()).toContain(
      'Expedite: the shared token is not an approver: expedite needs one of alice',
    );

    // Alice, an approver, is offered both; an expedite without a reason is refused in the API's words.
    await p.evaluate('sessionStorage.clear()');
    await signIn(p, ALICE);
    expect(await expectStarts(p, ALICE)).toEqual({ demo: ['start', 'expedite'], hold: ['start', 'expedite'], ledger: ['start', 'expedite'] });
    const posts: { body: unknown; key: string | undefined }[] = [];
    p.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/releases') posts.push({ body: r.postDataJSON(), key: r.headers()['idempotency-key'] });
    });
    const form = p.getByRole('form', { name: 'start a release of demo' });
    await form.getByLabel('Image').fill('v5');
    await form.getByRole('button', { name: 'Expedite' }).click();
    await expect.poll(() => form.locator('.start-result').textContent()).toContain('an expedited release needs a reason');
    expect((await mode.runtime.deps.store.list({ limit: 50, service: 'demo' })).releases.some((r) => r.artifact.image === 'v5')).toBe(false);

    // Start: a POST /releases with an Idempotency-Key of its own, then the page follows the new release.
    await form.getByRole('button', { name: 'Start' }).click();
    await p.locator('main[data-phase]').waitFor({ timeout: 15_000 });
    const id = decodeURIComponent(new URL(p.url()).hash.replace('#/releases/', ''));
    const started = await mode.runtime.deps.store.get(id);
    expect(started?.artifact.image).toBe('v5');
    expect(started?.createdBy.person).toBe('alice');
    expect(posts).toHaveLength(2); // the refused expedite, then the start
    expect(posts[1]?.body).toEqual({ service: 'demo', image: 'v5' });
    expect(posts[1]?.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(posts[1]?.key).not.toBe(posts[0]?.key);
    await mode.runtime.releases.act(id, 'rollback', { id: 'ci', channel: 'api' });
    await releaseUntil(mode.runtime.deps.store, id, (r) => r.phase === 'rolled_back' || r.phase === 'cancelled', { timeoutMs: 30_000 });
    await p.close();
  }, 90_000);

  it('a double click on Start starts one release; after an answer lost on the way, the next click sends the same key', async () => {
    const p = await page();
    await signIn(p, ALICE);
    const keys: (string | undefined)[] = [];
    p.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/releases') keys.push(r.headers()['idempotency-key']);
    });
    // The first start reaches the API, and its answer is lost (the connection drops on the way back).
    let dropped = false;
    await p.route('**/releases', async (route) => {
      if (route.request().method() !== 'POST' || dropped) return route.continue();
      dropped = true;
      await route.fetch();
      await route.abort('connectionreset');
    });
    const form = p.getByRole('form', { name: 'start a release of demo' });
    await form.getByLabel('Image').fill('v6');
    await form.getByRole('button', { name: 'Start' }).dblclick();
    await expect.poll(() => form.locator('.start-result').textContent()).toContain('Start: no answer from the API');
    expect(keys).toHaveLength(1);
    // Start again: the same key, so the API answers with the release it started, not a second one.
    await form.getByRole('button', { name: 'Start' }).click();
    await p.locator('main[data-phase]').waitFor({ timeout: 15_000 });
    expect(keys).toEqual([keys[0], keys[0]]);
    const v6 = (await mode.runtime.deps.store.list({ limit: 50, service: 'demo' })).releases.filter((r) => r.artifact.image === 'v6');
    expect(v6).toHaveLength(1);
    const id = decodeURIComponent(new URL(p.url()).hash.replace('#/releases/', ''));
    expect(id).toBe(v6[0]?.id);
    await mode.runtime.releases.act(id, 'rollback', { id: 'ci', channel: 'api' });
    await releaseUntil(mode.runtime.deps.store, id, (r) => r.phase === 'rolled_back' || r.phase === 'cancelled', { timeoutMs: 30_000 });
    await p.close();
  }, 90_000);
});

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalMode, type LocalMode } from '../../src/composition/local-mode.js';
import { resolveConfig } from '../../src/config/config.js';
import { releaseUntil } from '../support/poll.js';
import { demoTarget } from '../support/demo.js';

/**
 * Every verb of the CLI, run as a process the way a person runs it, against local mode's real API
 * (real processes behind the proxy). Gates are off so releases move on their plan alone; the
 * approval before finalize holds a release where a person must act.
 */
let mode: LocalMode;
let api: string;

beforeAll(async () => {
  mode = await startLocalMode({
    config: resolveConfig({
      services: [
        {
          name: 'shop',
          target: demoTarget(),
          strategy: { type: 'canary', steps: [{ percent: 20, bake: '10m' }], finalBake: '1s' },
          gates: { metrics: [], checkInterval: '60s' },
          approvals: { at: ['before-finalize'], timeout: '10m' },
        },
        // A service may be named like a release (r-…): the CLI asks the API which it is.
        { name: 'r-api', target: demoTarget({ port: 8081 }), strategy: { type: 'blue-green', bake: '1s' }, gates: { metrics: [] } },
      ],
    }),
    port: 0,
    inMemory: true,
    ephemeralPorts: true,
    token: 'cli-token',
  });
  api = mode.apiUrl;
}, 60_000);
afterAll(async () => mode.stop());

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/switchyard.js', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SWITCHYARD_API: api, SWITCHYARD_TOKEN: 'cli-token', NO_COLOR: '', ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

const json = <T>(run: Run): T => JSON.parse(run.out) as T;
const phaseOf = (id: string) => mode.runtime.deps.store.get(id).then((r) => r?.phase);

describe('the switchyard CLI, every verb end to end against local mode', () => {
  it('release, list, get, rollback (acting at once mid-bake), retry, promote, approve, history and undo', async () => {
    // release: started, with the id to follow.
    const started = await cli(['release', 'shop', 'v2', '--json']);
    expect(started.code).toBe(0);
    const first = json<{ id: string; phase: string }>(started).id;

    // list and get show it; get --json is the API's view.
    await releaseUntil(mode.runtime.deps.store, first, (r) => r.phase === 'baking' && r.weight === 20, { timeoutMs: 15_000 });
    const listed = await cli(['list']);
    expect(listed.out).toMatch(new RegExp(`${first}\\s+shop\\s+v2\\s+baking\\s+20%`));
    const got = await cli(['get', first]);
    expect(got.out).toContain('traffic  ████░░░░░░░░░░░░░░░░ 20% new, 80% stable');
    expect(got.out).toContain('[bake 10m]');
    // What the API offers this caller, as commands; and when the bake ends.
    expect(got.out).toContain(`you may  switchyard promote ${first} · switchyard rollback ${first}`);
    expect(got.out).toMatch(/bake 10m ends in \d+m/);
    // A service name stands for its active release (as for logs).
    const byService = await cli(['get', 'shop']);
    expect(byService.code, byService.err).toBe(0);
    expect(byService.out.split('\n')[0]).toContain(first);

    // rollback mid-bake (60 s check interval): traffic returns at once, by the person named.
    const asked = Date.now();
    const rolled = await cli(['rollback', first, '-m', 'error budget', '--as', 'alice']);
    expect(rolled.code, rolled.err).toBe(0);
    await releaseUntil(mode.runtime.deps.store, first, (r) => r.phase === 'rolled_back', { timeoutMs: 20_000 });
    expect(Date.now() - asked).toBeLessThan(20_000);
    expect(mode.targets.get('shop')?.traffic['v2']).toBeUndefined();

    // get --watch on a finished release, piped: plain event lines, exit 1 (it did not ship).
    const watched = await cli(['get', first, '--watch']);
    expect(watched.code).toBe(1);
    expect(watched.out).toContain(`${first} rollback requested by alice`);
    expect(watched.out).not.toContain('\u001b[');

    // retry: a new release of the same image, recorded as a retry.
    const retried = await cli(['retry', first, '--json']);
    expect(retried.code, retried.err).toBe(0);
    const second = json<{ id: string; image: string; origin: { kind: string; of: string } }>(retried);
    expect(second).toMatchObject({ image: 'v2', origin: { kind: 'retry', of: first } });

    // promote skips the bake; the approval before finalize then waits for a person.
    await releaseUntil(mode.runtime.deps.store, second.id, (r) => r.phase === 'baking', { timeoutMs: 15_000 });
    expect((await cli(['promote', second.id])).code).toBe(0);
    // Promote skips the approval too: approving afterwards is refused (exit 4) with the reason.
    await releaseUntil(mode.runtime.deps.store, second.id, (r) => r.requests.promote !== undefined, { timeoutMs: 15_000 });
    const approved = await cli(['approve', second.id, '--as', 'bob']);
    expect(approved.code).toBe(4);
    expect(approved.err).toContain('no approval is waiting');
    await releaseUntil(mode.runtime.deps.store, second.id, (r) => r.phase === 'succeeded', { timeoutMs: 15_000 });

    // history lists the service's releases, newest first.
    const history = await cli(['history', 'shop', '--json']);
    expect(json<{ releases: { id: string }[] }>(history).releases.map((r) => r.id)).toEqual([second.id, first]);

    // undo: back to v1 at once (no bakes), as a release of its own.
    const undone = await cli(['undo', 'shop', '--reason', 'customer bug', '--json']);
    expect(undone.code, undone.err).toBe(0);
    const third = json<{ id: string; image: string; origin: { kind: string; of: string }; plan: { type: string }[] }>(undone);
    expect(third).toMatchObject({ image: 'v1', origin: { kind: 'undo', of: second.id } });
    expect(third.plan.map((s) => s.type)).toEqual(['setWeight', 'finalize']);
    await releaseUntil(mode.runtime.deps.store, third.id, (r) => r.phase === 'succeeded', { timeoutMs: 15_000 });
    expect(mode.targets.get('shop')?.stableVersion).toBe('v1');
  }, 120_000);

  it('refusals and mistakes: exit codes 2 (usage), 4 (refused), 5 (unreachable), with what to do', async () => {
    const typo = await cli(['rolback', 'r-1']);
    expect(typo.code).toBe(2);
    expect(typo.err).toContain('(Did you mean rollback?)');

    // Other tools' words get their Switchyard names (Argo's abort is a working alias of rollback, tested above).
    const cancel = await cli(['cancel', 'r-1']);
    expect(cancel.code).toBe(2);
    expect(cancel.err).toContain("unknown command 'cancel'");
    expect(cancel.err).toContain('Did you mean switchyard rollback <id>');
    const status = await cli(['status', 'shop']);
    expect(status.code).toBe(2);
    expect(status.err).toContain('Did you mean switchyard get <release|service> (one release, --watch to follow it) or list');

    const missing = await cli(['get', 'r-nope']);
    expect(missing.code).toBe(4);
    expect(missing.err).toContain('no release with id "r-nope"');

    const noToken = await cli(['rollback', 'r-nope'], { SWITCHYARD_TOKEN: '' });
    expect(noToken.code).toBe(4);
    expect(noToken.err).toContain('401');

    const down = await cli(['list', '--api', 'http://127.0.0.1:59997']);
    expect(down.code).toBe(5);
    expect(down.err).toContain('nothing answers at http://127.0.0.1:59997 (ECONNREFUSED)');

    const expedite = await cli(['release', 'shop', 'v9', '--expedite']);
    expect(expedite.code).toBe(2);
    expect(expedite.err).toContain('--expedite needs --reason');
    expect(await phaseOf('r-nope')).toBeUndefined();

    const version = await cli(['--version']);
    expect(version.out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  }, 60_000);

  /** Pauses release `id` (baking at 20%), resumes it and aborts it, as a person at a terminal would. */
  async function pauseResumeAbort(id: string) {
    await releaseUntil(mode.runtime.deps.store, id, (r) => r.phase === 'baking' && r.weight === 20, { timeoutMs: 15_000 });
    const paused = await cli(['pause', 'shop', '-m', 'checking a report', '--as', 'alice']);
    expect(paused.code, paused.err).toBe(0);
    expect(paused.out).toMatch(new RegExp(`^${id}: paused with (10m|9m( \\d+s)?) of the bake left; now baking, 20% on the new version`));
    const got = await cli(['get', id]);
    expect(got.out).toMatch(/paused {3}by alice .* since .*: "checking a report"; (10m|9m( \d+s)?) of the bake left: switchyard resume /);
    expect(got.out).toContain(`switchyard resume ${id}`);
    const twice = await cli(['pause', id]);
    expect(twice.code).toBe(4);
    expect(twice.err).toContain('already paused by alice');
    const resumed = await cli(['resume', id, '-m', 'all clear']);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toContain(`${id}: resumed; now baking, 20% on the new version`);

    // abort: Argo's word, Switchyard's rollback.
    const aborted = await cli(['abort', id, '-m', 'not today']);
    expect(aborted.code, aborted.err).toBe(0);
    expect(aborted.out).toContain(`${id}: rollback requested`);
    await releaseUntil(mode.runtime.deps.store, id, (r) => r.phase === 'rolled_back', { timeoutMs: 20_000 });
  }

  it('pause <service> holds a bake, resume lets it go on, abort rolls back as rollback does; undo --to refuses a version never served', async () => {
    const started = json<{ id: string }>(await cli(['release', 'shop', 'v3', '--json']));
    try {
      await pauseResumeAbort(started.id);
    } finally {
      // A failed assertion must not leave the release holding the service for the tests that follow.
      await mode.runtime.releases.act(started.id, 'rollback', { id: 'test', channel: 'api' }).catch(() => undefined);
      await releaseUntil(mode.runtime.deps.store, started.id, (r) => r.phase === 'rolled_back', { timeoutMs: 20_000 });
    }

    const none = await cli(['pause', 'shop']);
    // The premise does not hold (nothing to pause): refused as the API refuses it (4), not a usage error.
    expect(none.code).toBe(4);
    expect(none.err).toContain('service shop has no active release to pause or resume');
    // A release that shipped (promote skips the bake and the approval), then undo --to the version before it.
    const shipped = json<{ id: string }>(await cli(['release', 'shop', 'v4', '--json']));
    await releaseUntil(mode.runtime.deps.store, shipped.id, (r) => r.phase === 'baking', { timeoutMs: 15_000 });
    expect((await cli(['promote', shipped.id])).code).toBe(0);
    await releaseUntil(mode.runtime.deps.store, shipped.id, (r) => r.phase === 'succeeded', { timeoutMs: 20_000 });
    const never = await cli(['undo', 'shop', '--to', 'v9']);
    expect(never.code).toBe(4);
    expect(never.err).toMatch(/shop never served v9; undo goes back to a version it served before: (\S+, )*v1\b/);
    const expediteAlone = await cli(['undo', 'shop', '--expedite']);
    expect(expediteAlone.code).toBe(2);
    expect(expediteAlone.err).toContain('--expedite applies to undo --to <version>');
    const back = await cli(['undo', 'shop', '--to', 'v1', '--reason', 'v4 has a bug']);
    expect(back.code, back.err).toBe(0);
    expect(back.out).toMatch(/returns shop to v1 \(undo, through the plan\)/);
    const id = /release (r-\S+)/.exec(back.out)?.[1] ?? '';
    // Shipped at once, so the service serves v1 again for the tests that follow.
    await releaseUntil(mode.runtime.deps.store, id, (r) => r.phase === 'baking', { timeoutMs: 15_000 });
    expect((await cli(['promote', id])).code).toBe(0);
    await releaseUntil(mode.runtime.deps.store, id, (r) => r.phase === 'succeeded', { timeoutMs: 20_000 });
    expect(mode.targets.get('shop')?.stableVersion).toBe('v1');
  }, 90_000);

  it('an expedited release skips approvals and cuts bakes to one gate check, with its reason in the timeline', async () => {
    const run = await cli(['release', 'shop', 'v7', '--expedite', '--reason', 'hotfix for INC-42', '--json']);
    expect(run.code, run.err).toBe(0);
    const r = json<{ id: string; plan: { type: string; seconds?: number }[]; expedited: { reason: string } }>(run);
    expect(r.expedited.reason).toBe('hotfix for INC-42');
    expect(r.plan.filter((s) => s.type === 'approval')).toEqual([]);
    expect(r.plan.filter((s) => s.type === 'bake').map((s) => s.seconds)).toEqual([60, 1]);
    const got = await cli(['get', r.id]);
    expect(got.out).toContain('expedited release of v7 (bakes cut to one gate check, approvals skipped): hotfix for INC-42');
    await cli(['rollback', r.id]);
  }, 60_000);
});

describe('switchyard logs', () => {
  it('merges every process of the new version in time order, with version and replica; --grep filters; the token is required', async () => {
    const started = await cli(['release', 'shop', 'v9-faulty', '--json']);
    const { id } = json<{ id: string }>(started);
    await releaseUntil(mode.runtime.deps.store, id, (r) => r.phase === 'baking', { timeoutMs: 15_000 });
    // Some traffic so the faulty version logs its failures.
    const port = mode.targets.get('shop')!.proxy.productionPort;
    await Promise.all(Array.from({ length: 60 }, () => fetch(`http://127.0.0.1:${port}/checkout`).then((r) => r.text())));
    const all = await cli(['logs', id, '--json']);
    expect(all.code, all.err).toBe(0);
    const lines = all.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { time: string; version: string; replica: number; message: string });
    expect(lines.map((l) => l.message)).toEqual(
      expect.arrayContaining([expect.stringContaining('listening on'), expect.stringContaining('"message":"ready"')]),
    );
    expect(lines.every((l) => l.version === 'v9-faulty' && l.replica === 0)).toBe(true);
    expect(lines.map((l) => l.time)).toEqual([...lines.map((l) => l.time)].sort());
    const errors = await cli(['logs', id, '--grep', 'SIMULATED FAILURE']);
    expect(errors.out).toMatch(/v9-faulty#0 .*simulated failure on GET \/checkout/);
    expect(errors.out).not.toContain('listening on');
    // A service name stands for its active release.
    const byService = await cli(['logs', 'shop', '--grep', 'simulated failure']);
    expect(byService.out).toMatch(/v9-faulty#0 .*simulated failure on GET \/checkout/);
    // "r-api" is one of the services: the CLI takes it as that service, not as a release id.
    const rService = await cli(['pause', 'r-api']);
    expect(rService.code).toBe(4);
    expect(rService.err).toContain('service r-api has no active release to pause or resume');
    const unknown = await cli(['logs', 'no-such-service']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('"no-such-service" is neither a release id (r-…) nor a service; services: shop, r-api');
    const stable = await cli(['logs', id, '--version', 'stable', '--json']);
    expect(stable.out).toContain('"version":"v1"');
    const anonymous = await cli(['logs', id], { SWITCHYARD_TOKEN: '' });
    expect(anonymous.code).toBe(4);
    await cli(['rollback', id]);
  }, 60_000);
});

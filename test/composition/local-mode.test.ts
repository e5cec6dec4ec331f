import { spawn } from 'node:child_process';
import { execSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/adapters/local/processes.js';
import type { LocalMode } from '../../src/composition/local-mode.js';
import { ended, localUnderLoad } from '../support/local-under-load.js';
import { eventually, releaseUntil } from '../support/poll.js';
import type { Release } from '../../src/core/release.js';

const DEMO = ['node', 'examples/demo-service/server.mjs'];

function demoService(overrides: Record<string, unknown> = {}) {
  return {
    name: 'demo',
    target: {
      driver: 'local',
      command: DEMO,
      replicas: 2,
      port: 8080,
      testPort: 8081,
      readiness: { path: '/ready', interval: 0, timeout: '5s' },
      drainTimeout: '5s',
      env: { STARTUP_MS: '100' },
    },
    strategy: {
      type: 'canary',
      steps: [
        { percent: 10, bake: '3s' },
        { percent: 50, bake: '3s' },
      ],
      finalBake: '2s',
    },
    gates: {
      metrics: [
        { name: 'error-rate', metric: 'ErrorRate', statistic: 'Average', comparison: 'GreaterThanThreshold', threshold: 5, period: '3s', minSamples: 5 },
      ],
      checkInterval: '1s',
      maxExtension: '3s',
    },
    ...overrides,
  };
}

const start = localUnderLoad();

const until = (m: LocalMode, id: string, predicate: (r: Release) => boolean, timeoutMs = 20_000) =>
  releaseUntil(m.runtime.deps.store, id, predicate, { timeoutMs, intervalMs: 50 });

describe('local mode, end to end (real processes, real HTTP)', () => {
  it('a canary under steady load ends with 100% on the new version and zero failed requests', async () => {
    const { mode, target, load } = await start(demoService());
    await new Promise((r) => setTimeout(r, 300));
    const { release } = await mode.runtime.releases.startRelease({ service: 'demo', image: 'v2', actor: { id: 't', channel: 'api' } });
    const done = await until(mode, release.id, ended);
    await new Promise((r) => setTimeout(r, 300));
    const stats = await load.stop();
    expect(done.phase).toBe('succeeded');
    expect(target.traffic).toEqual({ v2: 100 });
    expect(target.stableVersion).toBe('v2');
    expect(stats.failed).toBe(0);
    expect(stats.servedBy.get('v1')).toBeGreaterThan(50);
    expect(stats.servedBy.get('v2')).toBeGreaterThan(50);
    // The old version's processes are gone: only v2's two replicas remain.
    expect(target.pids).toHaveLength(2);
    const res = await fetch(`http://127.0.0.1:${target.proxy.productionPort}/`);
    expect(res.headers.get('x-version')).toBe('v2');
  });

  it('blue-green: test-route traffic reaches the new version before the approval, then the switch', async () => {
    const { mode, target, load } = await start(demoService({ strategy: { type: 'blue-green', bake: '2s' }, approvals: { at: ['before-traffic'] } }));
    const { release } = await mode.runtime.releases.startRelease({ service: 'demo', image: 'v2', actor: { id: 't', channel: 'api' } });
    await until(mode, release.id, (r) => r.phase === 'awaiting_approval');
    const test = await fetch(`http://127.0.0.1:${target.proxy.testPortBound}/`);
    expect(test.headers.get('x-version')).toBe('v2');
    const prod = await fetch(`http://127.0.0.1:${target.proxy.productionPort}/`);
    expect(prod.headers.get('x-version')).toBe('v1');
    expect(load.stats.servedBy.get('v2') ?? 0).toBe(0);
    await mode.runtime.releases.act(release.id, 'approve', { id: 'reviewer', channel: 'api' });
    expect((await until(mode, release.id, ended)).phase).toBe('succeeded');
    const stats = await load.stop();
    expect(stats.failed).toBe(0);
    expect(stats.servedBy.get('v2')).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${target.proxy.testPortBound}/`)).status).toBe(503);
  });

  it('a faulty version is rolled back automatically; errors come only from it, only while it carried traffic', async () => {
    const { mode, target, load } = await start(demoService());
    const { release } = await mode.runtime.releases.startRelease({ service: 'demo', image: 'v3-faulty', actor: { id: 't', channel: 'api' } });
    const done = await until(mode, release.id, ended);
    const failedAtEnd = load.stats.failed;
    await new Promise((r) => setTimeout(r, 1000));
    const stats = await load.stop();
    expect(done.phase).toBe('rolled_back');
    expect(done.reason).toMatch(/^gate failed: error-rate: Average of ErrorRate = [\d.]+ \(breaches > 5\)/);
    expect([...stats.failuresBy.keys()]).toEqual(['v3-faulty']);
    expect(stats.failed).toBe(failedAtEnd);
    expect(target.stableVersion).toBe('v1');
    expect(target.candidateVersion).toBeUndefined();
    expect(target.traffic).toEqual({ v1: 100 });
    // It never got past its first step.
    expect(done.timeline.filter((e) => e.type === 'shifted').map((e) => e.message)).toEqual(['10% of production traffic on the new version']);
  });

  it('a broken version never receives production traffic and fails with the probe error', async () => {
    const { mode, target, load } = await start(demoService());
    const { release } = await mode.runtime.releases.startRelease({ service: 'demo', image: 'v4-broken', actor: { id: 't', channel: 'api' } });
    const done = await until(mode, release.id, ended);
    const stats = await load.stop();
    expect(done.phase).toBe('failed');
    expect(done.reason).toMatch(/v4-broken never became ready: readiness probe GET \/ready on port \d+ never succeeded within 5s; last error: HTTP 503/);
    expect(stats.servedBy.has('v4-broken')).toBe(false);
    expect(stats.failed).toBe(0);
    expect(target.pids).toHaveLength(2);
  });

  it('a crash of a new-version process during the release trips a gate', async () => {
    const { mode, target } = await start(demoService({ strategy: { type: 'canary', steps: [{ percent: 10, bake: '20s' }], finalBake: '1s' } }));
    const { release } = await mode.runtime.releases.startRelease({ service: 'demo', image: 'v2', actor: { id: 't', channel: 'api' } });
    await until(mode, release.id, (r) => r.phase === 'baking');
    expect(target.traffic).toEqual({ v1: 90, v2: 10 });
    const [candidatePid] = target.candidatePids;
    process.kill(candidatePid ?? 0, 'SIGKILL');
    const done = await until(mode, release.id, ended);
    expect(done.phase).toBe('rolled_back');
    expect(done.reason).toMatch(/alarm process-health is ALARM \(process \d+ of v2 exited unexpectedly with SIGKILL\)/);
  });
});

describe('local mode faults', () => {
  it('the proxy restarting mid-release: the release completes, traffic flows as planned afterwards', async () => {
    const { mode, target, load } = await start(demoService());
    const { release } = await mode.runtime.releases.startRelease({ service: 'demo', image: 'v2', actor: { id: 't', channel: 'api' } });
    await until(mode, release.id, (r) => r.phase === 'baking' && r.weight === 10);
    await target.proxy.restart();
    const done = await until(mode, release.id, ended);
    const failedAtEnd = load.stats.failed;
    await new Promise((r) => setTimeout(r, 500));
    const stats = await load.stop();
    expect(done.phase).toBe('succeeded');
    expect(target.traffic).toEqual({ v2: 100 });
    // Only the restart window may see refused connections; none after the release ended.
    expect(stats.failed).toBe(failedAtEnd);
    expect([...stats.failuresBy.keys()].every((k) => k === 'network')).toBe(true);
    expect((await fetch(`http://127.0.0.1:${target.proxy.productionPort}/`)).headers.get('x-version')).toBe('v2');
  });
});

describe('the switchyard command', () => {
  it('SIGTERM stops everything and leaves no child process running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
    const marker = `marker-${process.pid}-${Date.now()}`;
    const [port, testPort] = [await freePort(), await freePort()];
    const config = join(dir, 'switchyard.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        services: [demoService({ target: { driver: 'local', command: [...DEMO, marker], replicas: 2, port, testPort, readiness: { interval: 0 } } })],
      }),
    );
    const child = spawn(process.execPath, ['bin/switchyard.js', 'local', '--config', config, '--in-memory', '--port', '0'], {
      env: { ...process.env, SWITCHYARD_TOKEN: 't' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    await eventually(
      async () => out,
      (text) => text.includes('Ready.') || child.exitCode !== null,
      { timeoutMs: 20_000, intervalMs: 100 },
    ).catch(() => undefined);
    expect(out).toContain('Ready.');
    const running = () =>
      execSync('ps -ww -eo args')
        .toString()
        .split('\n')
        .filter((l) => l.includes(marker) && !l.includes('ps -eo'));
    expect(running()).toHaveLength(2);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('Stopped. No process left running.');
    expect(running()).toEqual([]);
  });

  it('--help explains the commands, a bad config exits 2 with every problem', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['bin/switchyard.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', (code) => resolve({ code, out }));
      });
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/local \[options\] +run Switchyard on this machine/);
    expect(help.out).toContain('Exit codes:');
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
    writeFileSync(
      join(dir, 'bad.json'),
      JSON.stringify({
        services: [{ name: 'x', target: { driver: 'local', command: 'x', port: 99999 }, strategy: { type: 'canary', steps: [{ percent: 120, bake: '1m' }] } }],
      }),
    );
    const bad = await run(['validate', '--config', join(dir, 'bad.json')]);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('services[0].target.port: must be a port from 1 to 65535');
    expect(bad.out).toContain('services[0].strategy.steps[0].percent: must be a percentage from 1 to 99');
    const good = await run(['validate', '--config', 'examples/aws/switchyard.config.ts']);
    expect(good.out).toContain('checkout-api (ecs, linear): 20% -> bake 3m -> approval (after-first-step, 2h) -> 40% -> bake 3m');
    expect(good.out).toContain('search (ecs, rolling): 25% -> 50% -> 75% -> 100% -> bake 5m -> finalize');
  });
});

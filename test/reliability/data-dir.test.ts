import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/adapters/local/processes.js';
import { eventually } from '../support/poll.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/switchyard.js', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, err }));
  });
}

describe('a data directory that cannot be written', () => {
  it('stops the start with what is wrong and what to do, not a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-dd-'));
    dirs.push(dir);
    // A path under a regular file cannot become a directory, whoever runs the test (even root).
    writeFileSync(join(dir, 'not-a-dir'), 'x');
    const { code, err } = await run(['local', '--config', 'examples/local/switchyard.config.ts', '--data-dir', join(dir, 'not-a-dir', 'data'), '--port', '0']);
    expect(code).toBe(2);
    expect(err).toContain(`the data directory ${join(dir, 'not-a-dir', 'data')} cannot be written (ENOTDIR`);
    expect(err).toContain('pass --data-dir with a writable directory, or --in-memory to keep nothing');
    expect(err).not.toMatch(/\n\s+at /); // no stack trace
  }, 30_000);
});

describe('a data directory that fails during a run (a disk that fills)', () => {
  it('keeps the process and the proxy up, puts production back on the stable version, refuses new work and says what happened; a restart records the release as interrupted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-full-'));
    dirs.push(dir);
    const [shopPort, noisePort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const service = (name: string, port: number) => ({
      name,
      target: {
        driver: 'local',
        command: ['node', join(process.cwd(), 'examples/demo-service/server.mjs')],
        port,
        readiness: { interval: 0 },
        drainTimeout: '1s',
      },
      strategy: { type: 'canary', steps: [{ percent: 50, bake: '10m' }], finalBake: '1s' },
      gates: { metrics: [], checkInterval: '60s' },
    });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ services: [service('shop', shopPort), service('noise', noisePort)] }));
    const args = ['bin/switchyard.js', 'local', '--config', join(dir, 'config.json'), '--data-dir', join(dir, 'data'), '--port', String(apiPort), '--no-demo'];
    const env = { ...process.env, SWITCHYARD_TOKEN: 'disk-token' };
    // The disk "fills" when the store's log file reaches the file-size limit (RLIMIT_FSIZE: EFBIG,
    // as a full disk gives ENOSPC; Node ignores SIGXFSZ). No root or mount needed.
    const child = spawn('sh', ['-c', `ulimit -f 1024; exec "${process.execPath}" ${args.map((a) => `'${a}'`).join(' ')}`], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    const api = `http://127.0.0.1:${apiPort}`;
    const post = (path: string, body?: unknown) =>
      fetch(`${api}${path}`, {
        method: 'POST',
        headers: { authorization: 'Bearer disk-token', 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(15_000),
      });
    const served = async () => ((await (await fetch(`http://127.0.0.1:${shopPort}/`)).json()) as { version: string }).version;
    try {
      await eventually(
        async () => out,
        (o) => o.includes('Ready.'),
        { timeoutMs: 20_000 },
      );
      const started = (await (await post('/releases', { service: 'shop', image: 'v2' })).json()) as { id: string };
      await eventually(
        async () => ((await (await fetch(`${api}/releases/${started.id}`)).json()) as { phase: string }).phase,
        (p) => p === 'baking',
        { timeoutMs: 15_000 },
      );
      const during = new Set<string>();
      for (let i = 0; i < 40; i++) during.add(await served());
      expect(during).toEqual(new Set(['v1', 'v2']));

      // Writes until the store's disk fails: each new release of another service supersedes the queued one.
      let refused: Response | undefined;
      let writes = 0;
      for (let i = 0; i < 3000 && !refused; i++, writes++) {
        const res = await post('/releases', { service: 'noise', image: `v${i + 2}` }).catch(() => undefined);
        if (res?.status === 503) refused = res;
      }
      expect(refused, 'the store never failed').toBeDefined();
      expect(((await refused!.json()) as { error: { message: string } }).error.message).toContain('the store cannot record anything');
      await eventually(
        async () => out,
        (o) => o.includes('releases can no longer be recorded'),
        { timeoutMs: 10_000 },
      );
      expect(out).not.toMatch(/\n\s+at .*dynalite/);

      // Still up: production on the stable version only, health says why.
      const after = new Set<string>();
      for (let i = 0; i < 40; i++) after.add(await served());
      expect(after).toEqual(new Set(['v1']));
      console.log(
        `disk full: the store failed after ${writes} releases started; Switchyard stayed up, 40 of 40 requests then went to the stable version, new work got 503`,
      );
      const health = await fetch(`${api}/healthz`);
      expect(health.status).toBe(503);
      expect(((await health.json()) as { store: string }).store).toMatch(/IO error/);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);

    // Restarted with room: the release that was baking is recorded as interrupted, v1 serves.
    const again = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let restarted = '';
    again.stdout.on('data', (d: Buffer) => (restarted += d.toString()));
    const done = new Promise<number | null>((r) => again.on('exit', r));
    try {
      await eventually(
        async () => restarted,
        (o) => o.includes('Ready.'),
        { timeoutMs: 20_000 },
      );
      expect(restarted).toMatch(/release r-\S+ of shop was interrupted by the last stop: rolled_back, traffic restored to the stable version/);
      expect(await served()).toBe('v1');
    } finally {
      again.kill('SIGINT');
    }
    expect(await done).toBe(0);
  }, 120_000);
});

import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/adapters/local/processes.js';
import { interruptAll } from '../support/ctrl-c.js';
import { eventually } from '../support/poll.js';

// What a newcomer meets in the first minutes: npm start twice, a pipe to tee, a restart.
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await interruptAll(children);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function setup(): Promise<{ dir: string; config: string; marker: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-first-'));
  dirs.push(dir);
  const marker = `marker-${process.pid}-${Date.now()}`;
  const config = join(dir, 'switchyard.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      services: [
        {
          name: 'demo',
          target: {
            driver: 'local',
            command: ['node', 'examples/demo-service/server.mjs', marker],
            port: await freePort(),
            readiness: { interval: 0 },
            env: { STARTUP_MS: '20' },
          },
          strategy: { type: 'blue-green' },
        },
      ],
    }),
  );
  return { dir, config, marker };
}

interface Run {
  readonly child: ChildProcess;
  readonly out: () => string;
  readonly exit: Promise<number | null>;
}

function run(args: readonly string[], env: Record<string, string | undefined> = {}): Run {
  const { SWITCHYARD_TOKEN: _drop, ...rest } = process.env;
  const child = spawn(process.execPath, ['bin/switchyard.js', ...args], { env: { ...rest, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, exit };
}

async function ready(r: Run): Promise<void> {
  await eventually(
    async () => r.out(),
    (text) => text.includes('Ready.') || r.child.exitCode !== null,
    { timeoutMs: 40_000, intervalMs: 100 },
  );
  if (!r.out().includes('Ready.')) throw new Error(`switchyard did not start:\n${r.out()}`);
}

const running = (marker: string) =>
  execSync('ps -ww -eo args')
    .toString()
    .split('\n')
    .filter((l) => l.includes(marker) && !l.includes('ps -eo'));

describe('first contact', () => {
  it('a second start on the same data directory says who holds it and exits 2; the first keeps serving', async () => {
    const { dir, config } = await setup();
    const dataDir = join(dir, 'data');
    const first = run(['local', '--config', config, '--data-dir', dataDir, '--port', '0']);
    await ready(first);
    const second = run(['local', '--config', config, '--data-dir', dataDir, '--port', '0']);
    expect(await second.exit).toBe(2);
    expect(second.out()).toContain(`already running (pid ${first.child.pid}), data dir ${dataDir}`);
    expect(second.out()).not.toMatch(/Database is closed|\n\s+at /);
    expect(first.child.exitCode).toBeNull();
  }, 60_000);

  it('the token is kept in the data directory (0600) and the same after a restart', async () => {
    const { dir, config } = await setup();
    const dataDir = join(dir, 'data');
    const tokenOf = (text: string) => /Token\s+(\S+)/.exec(text)?.[1];
    const first = run(['local', '--config', config, '--data-dir', dataDir, '--port', '0']);
    await ready(first);
    const token = tokenOf(first.out());
    expect(token).toBeDefined();
    expect(readFileSync(join(dataDir, 'token'), 'utf8').trim()).toBe(token);
    expect(statSync(join(dataDir, 'token')).mode & 0o777).toBe(0o600);
    first.child.kill('SIGINT');
    expect(await first.exit).toBe(0);
    const second = run(['local', '--config', config, '--data-dir', dataDir, '--port', '0']);
    await ready(second);
    expect(tokenOf(second.out())).toBe(token);
  }, 60_000);

  it('a reader that went away (npm start | tee, Ctrl-C) does not abort the shutdown: exit 0, no service left running', async () => {
    const { config, marker } = await setup();
    const r = run(['local', '--config', config, '--in-memory', '--port', '0']);
    await ready(r);
    expect(running(marker)).toHaveLength(1);
    // tee is gone: every later write to stdout fails with EPIPE.
    r.child.stdout?.destroy();
    r.child.kill('SIGINT');
    expect(await r.exit).toBe(0);
    await eventually(
      async () => running(marker),
      (left) => left.length === 0,
      { timeoutMs: 15_000 },
    );
  }, 60_000);
});

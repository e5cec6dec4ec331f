import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/adapters/local/processes.js';
import { startLocalMode, type LocalMode } from '../../src/composition/local-mode.js';
import { resolveConfig } from '../../src/config/config.js';
import { LoadGenerator } from '../../src/local/load.js';
import { interruptAll } from '../support/ctrl-c.js';
import { haproxyMissing } from '../support/haproxy.js';
import { eventually } from '../support/poll.js';

const DEMO = ['node', 'examples/demo-service/server.mjs'];

let mode: LocalMode | undefined;
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  await mode?.stop();
  mode = undefined;
  await interruptAll(children);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Local mode in memory on free ports, running `services`; what it warns is collected. */
async function inMemory(services: ReturnType<typeof service>[]): Promise<{ mode: LocalMode; warnings: string[] }> {
  const warnings: string[] = [];
  mode = await startLocalMode({
    config: resolveConfig({ services }),
    port: 0,
    inMemory: true,
    ephemeralPorts: true,
    token: 't',
    onWarning: (m) => warnings.push(m),
  });
  return { mode, warnings };
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

const service = (name: string, command: readonly string[], extra: Record<string, unknown> = {}) => ({
  name,
  target: { driver: 'local', command, replicas: 1, port: 8080, readiness: { path: '/ready', interval: 0, timeout: '3s' }, drainTimeout: '1s', ...extra },
  strategy: { type: 'blue-green' },
});

/** A process that runs (a zombie waiting for its parent to collect it runs no more). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const status = async (url: string) => (await fetch(url).catch(() => undefined))?.status ?? 0;

describe('services fail independently', () => {
  it('a service whose stable version cannot start is reported by name with its last log lines and retried, while the others serve', async () => {
    const dir = tempDir('switchyard-broken-');
    chmodSync(dir, 0o755); // run as nobody when the tests run as root: it looks for the file here
    const fixed = join(dir, 'fixed');
    // Fails until a file appears (a missing setting someone then adds), then serves like the demo.
    const flaky = [
      'node',
      '-e',
      `if (!require('fs').existsSync(${JSON.stringify(fixed)})) { console.error('boom: DATABASE_URL is not set'); process.exit(1) } else import(require('path').resolve('examples/demo-service/server.mjs'))`,
    ];
    const { mode, warnings } = await inMemory([service('shop', DEMO), service('billing', flaky, { port: 8090 })]);
    const shop = mode.targets.get('shop')!;
    const billing = mode.targets.get('billing')!;
    expect(await status(`http://127.0.0.1:${shop.proxy.productionPort}/`)).toBe(200);
    const report = warnings.find((w) => w.startsWith('billing cannot serve'));
    expect(report).toBeDefined();
    expect(report).toContain('boom: DATABASE_URL is not set');
    expect(billing.health()).toMatchObject({ status: 'down', reason: expect.stringContaining('never became ready') });
    const health = await fetch(`${mode.apiUrl}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ down: ['billing'] });
    // Fixed: the next attempt (backoff from 1 s) serves it, and says so.
    writeFileSync(fixed, 'yes');
    await eventually(
      async () => billing.health().status,
      (s) => s === 'ok',
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(await status(`http://127.0.0.1:${billing.proxy.productionPort}/`)).toBe(200);
    expect(warnings).toContain('billing serves again (v1)');
    expect(await status(`http://127.0.0.1:${shop.proxy.productionPort}/`)).toBe(200);
  }, 40_000);

  it('a killed data plane is an outage of its service only; it is brought back with the stable version', async () => {
    const { mode, warnings } = await inMemory([service('shop', DEMO), service('billing', DEMO, { port: 8090 })]);
    const shop = mode.targets.get('shop')!;
    const billing = mode.targets.get('billing')!;
    const [plane, replicas] = [billing.planePid, billing.pids];
    process.kill(plane, 'SIGKILL');
    await eventually(
      async () => billing.health().status,
      (s) => s === 'down',
    );
    expect(await status(`http://127.0.0.1:${shop.proxy.productionPort}/`)).toBe(200);
    // Its replicas die with it (the kernel's parent-death signal), or are reaped by the next data plane.
    await eventually(
      async () => billing.health().status,
      (s) => s === 'ok',
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(billing.planePid).not.toBe(plane);
    for (const pid of replicas) expect(alive(pid)).toBe(false);
    expect(await status(`http://127.0.0.1:${billing.proxy.productionPort}/`)).toBe(200);
    expect(warnings.some((w) => w.startsWith('billing cannot serve') && w.includes('data plane stopped'))).toBe(true);
  }, 40_000);
});

describe('a data plane that hangs', () => {
  it('is reported (health down, with the reason) while it does not answer, and serves again once it does', async () => {
    const { mode, warnings } = await inMemory([service('shop', DEMO)]);
    const shop = mode.targets.get('shop')!;
    const plane = shop.planePid;
    process.kill(plane, 'SIGSTOP');
    try {
      await eventually(
        async () => shop.health(),
        (h) => h.status === 'down',
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      expect(shop.health().reason).toContain('does not answer');
      expect(warnings.some((w) => w.startsWith('shop: its data plane does not answer'))).toBe(true);
      expect((await fetch(`${mode.apiUrl}/healthz`)).status).toBe(503);
    } finally {
      process.kill(plane, 'SIGCONT');
    }
    await eventually(
      async () => shop.health().status,
      (s) => s === 'ok',
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(shop.planePid).toBe(plane);
    expect(warnings).toContain('shop serves again (v1)');
  }, 40_000);
});

describe('restarts at bad moments (found by an independent review)', () => {
  const detachedConfig = (dataDir: string, services: ReturnType<typeof service>[]) =>
    startLocalMode({ config: resolveConfig({ services }), port: 0, dataDir, ephemeralPorts: true, token: 't', onWarning: () => undefined });

  it.each([
    ['its socket', ['run', 'shop.sock']],
    ['its socket and pid file (the whole run folder)', ['run']],
  ])(
    'a data plane that lost %s is asked to listen again, not doubled: the restart re-attaches and no request fails',
    async (_what, lost) => {
      const dataDir = tempDir('switchyard-nosock-');
      let first: LocalMode | undefined = await detachedConfig(dataDir, [service('shop', DEMO, { replicas: 2 })]);
      const plane = first.targets.get('shop')!.planePid;
      const port = first.targets.get('shop')!.proxy.productionPort;
      const load = new LoadGenerator({ url: `http://127.0.0.1:${port}/`, requestsPerSecond: 40, concurrency: 2 });
      load.start();
      await first.detach();
      first = undefined;
      rmSync(join(dataDir, ...lost), { recursive: true });
      const warnings: string[] = [];
      mode = await startLocalMode({
        config: resolveConfig({ services: [service('shop', DEMO, { replicas: 2 })] }),
        port: 0,
        dataDir,
        ephemeralPorts: true,
        token: 't',
        onWarning: (m) => warnings.push(m),
      });
      const before = load.stats.sent;
      await eventually(
        async () => load.stats.sent,
        (n) => n >= before + 40,
        { timeoutMs: 10_000 },
      );
      const stats = await load.stop();
      expect(warnings.join('\n')).toContain('re-attached to the data planes still serving shop');
      expect(mode.targets.get('shop')!.planePid).toBe(plane);
      expect(stats.failed).toBe(0);
    },
    60_000,
  );

  it('Switchyard killed while a rolling batch is in flight: the restore waits for it, then the stable version has all its replicas and the new version none', async () => {
    const dir = tempDir('switchyard-midroll-');
    const port = await freePort();
    const config = join(dir, 'switchyard.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        services: [
          {
            ...service('shop', DEMO, { port, replicas: 2, readiness: { path: '/ready', interval: 0, timeout: '10s' }, env: { STARTUP_MS: '2000' } }),
            strategy: { type: 'rolling', batch: 50, batchBake: '1s', finalBake: '1s' },
          },
        ],
      }),
    );
    const dataDir = join(dir, 'data');
    const first = await startSwitchyard(config, dataDir);
    const api = /API\s+(http:\/\/\S+)/.exec(first.out())?.[1] ?? '';
    const auth = { authorization: 'Bearer a-token-of-sixteen-chars', 'content-type': 'application/json' };
    const { id } = (await (
      await fetch(`${api}/releases`, { method: 'POST', headers: auth, body: JSON.stringify({ service: 'shop', image: 'v2' }) })
    ).json()) as {
      id: string;
    };
    // The first batch starts (2 s to get ready): killed in the middle of it.
    await eventually(
      async () => ((await (await fetch(`${api}/releases/${id}`, { headers: auth })).json()) as { phase: string }).phase,
      (phase) => phase === 'shifting',
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const second = await startSwitchyard(config, dataDir);
    const api2 = /API\s+(http:\/\/\S+)/.exec(second.out())?.[1] ?? '';
    const health = async () =>
      (
        (await (await fetch(`${api2}/services`, { headers: auth })).json()) as {
          services: { health?: { status: string; version?: string; replicas: { running: number } } }[];
        }
      ).services[0]?.health;
    await eventually(health, (h) => h?.status === 'ok' && h.version === 'v1' && h.replicas.running === 2, { timeoutMs: 30_000, intervalMs: 200 });
    // Settled: nothing of v2 serves, and it stays so.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await health()).toMatchObject({ status: 'ok', version: 'v1', replicas: { running: 2 } });
    const versions = new Set<string>();
    for (let i = 0; i < 20; i++) versions.add((await fetch(`http://127.0.0.1:${port}/`)).headers.get('x-version') ?? '');
    expect([...versions]).toEqual(['v1']);
  }, 120_000);

  it('a data plane that hangs does not hold up a start: the other services serve and it is reported', async () => {
    const dataDir = tempDir('switchyard-hungstart-');
    const services = [service('shop', DEMO), service('billing', DEMO, { port: 8090 })];
    const first = await detachedConfig(dataDir, services);
    const plane = first.targets.get('billing')!.planePid;
    await first.detach();
    process.kill(plane, 'SIGSTOP');
    try {
      const warnings: string[] = [];
      mode = await startLocalMode({
        config: resolveConfig({ services }),
        port: 0,
        dataDir,
        ephemeralPorts: true,
        token: 't',
        onWarning: (m) => warnings.push(m),
      });
      expect(mode.targets.get('shop')!.health().status).toBe('ok');
      expect(mode.targets.get('billing')!.health()).toMatchObject({ status: 'down', reason: expect.stringContaining('did not answer') });
      expect(warnings.some((w) => w.startsWith('billing cannot serve'))).toBe(true);
      // Ctrl-C does not wait on it: a data plane that does not answer is stopped the hard way.
      await mode.stop();
      mode = undefined;
      await eventually(
        async () => alive(plane),
        (a) => !a,
        { timeoutMs: 10_000 },
      );
    } finally {
      if (alive(plane)) process.kill(plane, 'SIGCONT');
    }
  }, 90_000);

  it.runIf(process.getuid?.() === 0)('a data directory another user owns is refused: its records could name any process to stop', async () => {
    const dataDir = tempDir('switchyard-foreign-');
    chownSync(dataDir, 65534, 65534);
    await expect(detachedConfig(dataDir, [service('shop', DEMO)])).rejects.toThrow(/belongs to uid 65534, not to you/);
  });

  it('a socket folder open to other users is refused, never connected to', async () => {
    const dir = tempDir('switchyard-opendir-');
    const open = join(dir, 'run');
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    const { DataPlaneTarget } = await import('../../src/adapters/local/data-plane-client.js');
    const [shop] = resolveConfig({ services: [service('shop', DEMO)] }).services;
    if (!shop || shop.target.driver !== 'local') throw new Error('no local service');
    const problems: string[] = [];
    const target = new DataPlaneTarget({
      service: 'shop',
      config: shop.target,
      socketPath: join(open, 'shop.sock'),
      logDir: join(dir, 'logs'),
      recordsDir: join(dir, 'processes'),
      planeLog: join(dir, 'plane.log'),
      ephemeral: true,
      ephemeralPorts: true,
      stableVersion: async () => 'v1',
      onProblem: (m) => problems.push(m),
    });
    try {
      await expect(target.start()).rejects.toThrow(/mode 0777, open to other users/);
      expect(problems.join('\n')).toContain('shop cannot serve');
    } finally {
      await target.stop();
    }
  }, 30_000);
});

/** Starts `switchyard local` as a user would, and resolves once it is ready. */
async function startSwitchyard(config: string, dataDir: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(process.execPath, ['bin/switchyard.js', 'local', '--config', config, '--data-dir', dataDir, '--port', '0', '--keep-serving'], {
    env: { ...process.env, SWITCHYARD_TOKEN: 'a-token-of-sixteen-chars', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await eventually(
    async () => out,
    (text) => text.includes('Ready.') || child.exitCode !== null,
    { timeoutMs: 40_000, intervalMs: 100 },
  );
  if (!out.includes('Ready.')) throw new Error(`switchyard did not start:\n${out}`);
  return { child, out: () => out };
}

/** Both data planes; HAProxy's run is left out (and said so) only where HAProxy is not installed. */
const DATA_PLANES: [string, Record<string, unknown>][] = [
  ['the built-in proxy', {}],
  ...(haproxyMissing ? [] : ([['HAProxy', { dataPlane: { type: 'haproxy' } }]] as [string, Record<string, unknown>][])),
];
if (haproxyMissing) process.stderr.write(`skipping the HAProxy run of "the data plane outlives the control plane": ${haproxyMissing}\n`);

describe.each(DATA_PLANES)('the data plane outlives the control plane (%s)', (_name, dataPlane) => {
  it('SIGKILL of Switchyard under load fails no request; a restart re-attaches without an outage; Ctrl-C then stops everything', async () => {
    const dir = tempDir('switchyard-cp-');
    const port = await freePort();
    const config = join(dir, 'switchyard.config.json');
    writeFileSync(config, JSON.stringify({ services: [service('shop', DEMO, { port, replicas: 2, ...dataPlane })] }));
    const dataDir = join(dir, 'data');
    const first = await startSwitchyard(config, dataDir);
    const load = new LoadGenerator({ url: `http://127.0.0.1:${port}/`, requestsPerSecond: 20, concurrency: 2 });
    load.start();
    try {
      await eventually(
        async () => load.stats.sent,
        (n) => n >= 20,
        { timeoutMs: 10_000 },
      );
      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.once('exit', r));
      const atKill = load.stats.sent;
      await eventually(
        async () => load.stats.sent,
        (n) => n >= atKill + 40,
        { timeoutMs: 15_000 },
      );
      const second = await startSwitchyard(config, dataDir);
      expect(second.out()).toContain('re-attached to the data planes still serving shop');
      const atRestart = load.stats.sent;
      await eventually(
        async () => load.stats.sent,
        (n) => n >= atRestart + 20,
        { timeoutMs: 10_000 },
      );
      const stats = await load.stop();
      expect(stats.failed).toBe(0);
      expect(stats.sent).toBeGreaterThan(atRestart);
      const exited = new Promise((r) => second.child.once('exit', r));
      second.child.kill('SIGINT');
      await exited;
      expect(await status(`http://127.0.0.1:${port}/`)).toBe(0);
    } finally {
      await load.stop();
    }
  }, 120_000);
});

describe('services cannot read Switchyard’s secrets', () => {
  // As root, each service runs as its own user (nobody unless the config names one); Linux then
  // refuses it another user's /proc/<pid>/environ. Not root, the README says what a service can read.
  it.runIf(process.getuid?.() === 0)(
    'a version that reads the environment of every process it can (its parent first) finds no token and no Slack secret, and runs as nobody',
    async () => {
      const dir = tempDir('switchyard-snoop-');
      chmodSync(dir, 0o755); // its user (nobody) reads its program from here
      const snoop = join(dir, 'snoop.cjs');
      writeFileSync(
        snoop,
        `const fs = require('fs'); const http = require('http');
const seen = {};
for (const pid of fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p))) {
  try { seen[pid] = fs.readFileSync('/proc/' + pid + '/environ', 'utf8'); } catch {}
}
const uid = fs.readFileSync('/proc/self/status', 'utf8').match(/^Uid:\\s+(\\d+)/m)[1];
http.createServer((req, res) => res.end(JSON.stringify({ uid, ppid: process.ppid, seen }))).listen(Number(process.env.PORT), '127.0.0.1');`,
      );
      const config = join(dir, 'switchyard.config.json');
      const port = await freePort();
      writeFileSync(
        config,
        JSON.stringify({
          services: [service('snoop', ['node', snoop], { port, readiness: { path: '/', interval: 0, timeout: '5s' } })],
          people: [{ name: 'ana', localToken: 'ANA_TOKEN' }],
        }),
      );
      // Secrets where people put them: in Switchyard's environment.
      await startSwitchyard(config, join(dir, 'data'), {
        ANA_TOKEN: 'ana-secret-token-0123456789',
        SLACK_SIGNING_SECRET: 'slack-signing-secret-0123456789',
        SLACK_BOT_TOKEN: 'xoxb-slack-bot-token-0123456789',
      });
      const answer = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { uid: string; ppid: number; seen: Record<string, string> };
      expect(answer.uid).toBe('65534');
      const everything = Object.values(answer.seen).join('\n');
      for (const secret of ['ana-secret-token', 'a-token-of-sixteen-chars', 'slack-signing-secret', 'xoxb-slack-bot-token', 'SWITCHYARD_TOKEN=']) {
        expect(everything).not.toContain(secret);
      }
      // Its parent is the data plane, whose environment is PATH and nothing else.
      expect(answer.seen[String(answer.ppid)]).toBeUndefined();
      expect(readFileSync(`/proc/${answer.ppid}/environ`, 'utf8').split('\0').filter(Boolean)).toEqual([expect.stringMatching(/^PATH=/)]);
    },
    30_000,
  );
});

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HaproxyAdmin } from '../../src/adapters/local/haproxy-admin.js';
import { HAPROXY_USER, HaproxyRouter } from '../../src/adapters/local/haproxy-router.js';
import { freePort } from '../../src/adapters/local/processes.js';
import { LoadGenerator } from '../../src/local/load.js';
import { describeWithHaproxy } from '../support/haproxy.js';
import { eventually } from '../support/poll.js';
import { firstLine, runTs } from '../support/process-groups.js';

// The built-in proxy's truths (proxy-truth.test.ts) asked of HAProxy as Switchyard drives it: the gates see
// what clients saw, from HAProxy's own counters and log lines. One HAProxy serves the whole file (as one
// serves a service); each case has its own version label, so its counts are its own.

const UPSTREAM_TIMEOUT_MS = 1000;
let router: HaproxyRouter;
let backend: { port: number; open: () => number; finish: () => void; server: Server };

/** /stall: 200 and a first chunk, never finished; /held: finished when `finish()` is called; /cut: dies after its first chunk. */
async function streamingBackend(): Promise<typeof backend> {
  const open = new Set<IncomingMessage>();
  const held: (() => void)[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/ready' || req.url === '/ok') return void res.end('ok');
    open.add(req);
    res.on('close', () => open.delete(req));
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first chunk\n');
    if (req.url === '/held') held.push(() => res.end('last chunk\n'));
    if (req.url === '/cut') res.write('', () => req.socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, open: () => open.size, finish: () => held.splice(0).forEach((f) => f()), server };
}

function fetchBody(path: string, onFirstChunk?: (give: { up: () => void }) => void): Promise<{ status: number; complete: boolean }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: router.productionPort, path, agent: false }, (res) => {
      let first = true;
      res.on('data', () => {
        if (first) onFirstChunk?.({ up: () => req.destroy() });
        first = false;
      });
      res.on('close', () => resolve({ status: res.statusCode ?? 0, complete: res.complete }));
    });
    req.on('error', () => resolve({ status: 0, complete: false }));
    req.end();
  });
}

/** The process's real uid (from /proc), and whether it is gone (a zombie no one reaped counts as gone). */
const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
function gone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}
const asRoot = process.getuid?.() === 0;
const haproxyUid = () => Number(spawnSync('id', ['-u', HAPROXY_USER], { encoding: 'utf8' }).stdout.trim());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cases = 0;
/** A fresh version label with all of production on the backend. */
async function version(): Promise<string> {
  const label = `case${++cases}`;
  await router.addBackend({ id: `${label}/1`, version: label, port: backend.port });
  await router.setWeights({ [label]: 100 });
  return label;
}

/** A gate's reading of the version over the last minute, once HAProxy's counters and log lines for it are in. */
function gate(label: string, metric: string, statistic = 'Sum'): number | undefined {
  return router.metrics.datapoints(label, metric, statistic, 60, 1, Date.now() + 1000)[0]?.value;
}
const counted = (label: string, requests: number) =>
  eventually(
    async () => [gate(label, 'RequestCount'), gate(label, 'TargetResponseTime', 'SampleCount')],
    ([n, timed]) => n === requests && timed === requests,
    { timeoutMs: 10_000 },
  );

describeWithHaproxy('HAProxy as the data plane tells the gates what clients saw', () => {
  beforeAll(async () => {
    backend = await streamingBackend();
    router = new HaproxyRouter({ name: 't', port: 0, upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS, readinessPath: '/ready' });
    await router.start();
  });
  afterAll(async () => {
    await router?.close();
    backend?.server.closeAllConnections();
    await new Promise((r) => backend?.server.close(r));
  });

  it('a 200 whose body stalls past the upstream (idle) timeout is an error of that version, and its client’s connection is cut', async () => {
    const label = await version();
    const seen = await fetchBody('/stall');
    expect(seen).toEqual({ status: 200, complete: false });
    await counted(label, 1);
    expect(gate(label, 'HTTPCode_Target_5XX_Count')).toBe(1);
    expect(gate(label, 'TargetResponseTime', 'Maximum')).toBeGreaterThanOrEqual((UPSTREAM_TIMEOUT_MS - 10) / 1000);
    await eventually(
      async () => backend.open(),
      (n) => n === 0,
    );
  });

  it('a backend that dies mid-body is an error of that version, and its client’s connection is cut', async () => {
    const label = await version();
    expect(await fetchBody('/cut')).toEqual({ status: 200, complete: false });
    await counted(label, 1);
    expect(gate(label, 'HTTPCode_Target_5XX_Count')).toBe(1);
  });

  it('a client that gives up mid-body counts against the version and takes the upstream request with it', async () => {
    const label = await version();
    const seen = await fetchBody('/stall', (give) => give.up());
    expect(seen.complete).toBe(false);
    await counted(label, 1);
    expect(gate(label, 'HTTPCode_Target_5XX_Count')).toBe(1);
    await eventually(
      async () => backend.open(),
      (n) => n === 0,
    );
  });

  it('the latency recorded runs to the end of the body, not to the headers', async () => {
    const label = await version();
    const seen = fetchBody('/held', () => void setTimeout(() => backend.finish(), 250));
    expect(await seen).toEqual({ status: 200, complete: true });
    await counted(label, 1);
    expect(gate(label, 'HTTPCode_Target_5XX_Count')).toBe(0);
    expect(gate(label, 'TargetResponseTime', 'Maximum')).toBeGreaterThanOrEqual(0.25);
  });

  it('a version that passes its readiness check and fails every other request fails its gates, though HAProxy answered its clients from another version', async () => {
    // One version accepts /ready and closes every other connection unanswered; one refuses connections.
    const broken = createServer((req, res) => (req.url === '/ready' ? void res.end('ok') : req.socket.destroy()));
    await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
    const [good, closes, refuses] = [`case${++cases}`, `case${++cases}`, `case${++cases}`];
    await router.addBackend({ id: `${good}/1`, version: good, port: backend.port });
    await router.addBackend({ id: `${closes}/1`, version: closes, port: (broken.address() as AddressInfo).port });
    await router.addBackend({ id: `${refuses}/1`, version: refuses, port: await freePort() });
    await router.setWeights({ [good]: 34, [closes]: 33, [refuses]: 33 });
    try {
      const statuses = new Set<number>();
      for (let i = 0; i < 30; i++) statuses.add((await fetchBody('/ok')).status);
      expect([...statuses]).toEqual([200]); // HAProxy sent them again, to the good version
      for (const label of [closes, refuses])
        await eventually(
          async () => [gate(label, 'RequestCount'), gate(label, 'ErrorRate')],
          ([n, rate]) => (n ?? 0) > 0 && rate === 100,
          { timeoutMs: 10_000 },
        );
      await counted(good, 30);
      expect(gate(good, 'HTTPCode_Target_5XX_Count')).toBe(0);
    } finally {
      await router.removeVersion(closes);
      await router.removeVersion(refuses);
      broken.close();
    }
  });

  it('a second HAProxy data plane on the same port fails to start (address in use), as the built-in proxy does, instead of sharing its traffic', async () => {
    const second = new HaproxyRouter({ name: 't2', port: router.productionPort, upstreamTimeoutMs: 1000, readinessPath: '/ready' });
    try {
      await expect(second.start()).rejects.toThrow(/Address already in use/);
    } finally {
      await second.close();
    }
  });

  it('HAProxy killed: reported down with the reason, started again by its data plane with every server and weight, serving again', async () => {
    const label = await version();
    const admin = new HaproxyAdmin(router.adminSocket);
    const pid = Number(/^Pid: (\d+)$/m.exec(await admin.run('show info'))?.[1]);
    process.kill(pid, 'SIGKILL');
    const down = await eventually(
      async () => router.health().failure,
      (failure) => failure !== undefined || router.restarts > 0,
      { timeoutMs: 10_000 },
    );
    if (down !== undefined) expect(down).toMatch(/HAProxy is not running/);
    await eventually(
      async () => router.restarts,
      (n) => n === 1,
      { timeoutMs: 15_000 },
    );
    expect(router.health().failure).toBeUndefined();
    // Reconciled: the server and its weight are back in the new HAProxy, and it serves.
    const stats = (await admin.serverStats()).filter((s) => s.backend === 'production' && s.weight > 0 && s.status === 'UP');
    expect(stats.map((s) => s.address)).toEqual([`127.0.0.1:${backend.port}`]);
    expect(router.weightOf(label)).toBe(100);
    const ok = await fetchBody('/ok');
    expect(ok).toEqual({ status: 200, complete: true });
  });

  it('HAProxy stopped (SIGSTOP): a drain keeps waiting on it, health says it does not answer, and it is killed and started again', async () => {
    const label = await version();
    const held = fetchBody('/held');
    await eventually(
      async () => backend.open(),
      (n) => n === 1,
    );
    const pid = Number(/^Pid: (\d+)$/m.exec(await new HaproxyAdmin(router.adminSocket).run('show info'))?.[1]);
    // As root, HAProxy runs as a user of its own: a service's processes (nobody) cannot signal it.
    if (asRoot) expect(uidOf(pid)).toBe(haproxyUid());
    const restarts = router.restarts;
    process.kill(pid, 'SIGSTOP');
    try {
      // A request is in flight for all the data plane can tell: its replica must not be stopped yet.
      expect(await router.waitIdle(label, 1000)).toBe(false);
      const down = await eventually(
        async () => router.health().failure,
        (failure) => failure !== undefined,
        { timeoutMs: 5000 },
      );
      expect(down).toMatch(/not answer/);
      await eventually(
        async () => router.restarts,
        (n) => n === restarts + 1,
        { timeoutMs: 10_000 },
      );
    } finally {
      if (!gone(pid)) process.kill(pid, 'SIGCONT');
    }
    backend.finish();
    await held;
    expect(router.health().failure).toBeUndefined();
    expect(await fetchBody('/ok')).toEqual({ status: 200, complete: true });
  });
});

describeWithHaproxy('HAProxy as the data plane: a replica that dies, a data plane that finds HAProxy running', () => {
  const started: { close: () => Promise<void> }[] = [];
  afterAll(async () => {
    for (const s of started.reverse()) await s.close();
  });

  /** A replica answering every request with its name; `crash()` closes its listener and every connection at once. */
  async function replica(name: string): Promise<{ port: number; crash: () => void; seen: () => Record<string, unknown> }> {
    let headers: Record<string, unknown> = {};
    const server = createServer((req, res) => {
      if (req.url !== '/ready') headers = req.headers;
      res.end(name);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    started.push({ close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))) });
    return { port: (server.address() as AddressInfo).port, crash: () => (server.close(), server.closeAllConnections()), seen: () => headers };
  }

  it('a replica that dies under load fails no GET: HAProxy sends its requests to the other replica', async () => {
    const [a, b] = [await replica('a'), await replica('b')];
    const r = new HaproxyRouter({ name: 't', port: 0, upstreamTimeoutMs: 5000, readinessPath: '/ready' });
    started.push(r);
    await r.addBackend({ id: 'v/a', version: 'v', port: a.port });
    await r.addBackend({ id: 'v/b', version: 'v', port: b.port });
    await r.setWeights({ v: 100 });
    await r.start();
    const load = new LoadGenerator({ url: `http://127.0.0.1:${r.productionPort}/`, requestsPerSecond: 200, concurrency: 8 });
    load.start();
    await eventually(
      async () => load.stats.sent,
      (n) => n >= 100,
      { timeoutMs: 10_000 },
    );
    a.crash();
    const atCrash = load.stats.sent;
    await eventually(
      async () => load.stats.sent,
      (n) => n >= atCrash + 200,
      { timeoutMs: 15_000 },
    );
    const stats = await load.stop();
    expect(stats.failed).toBe(0);
  });

  it('a data plane that starts and finds its HAProxy running attaches to it (no second HAProxy, no outage) and reconciles its servers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-hx-attach-'));
    started.push({ close: async () => rmSync(dir, { recursive: true, force: true }) });
    const [old, fresh] = [await replica('old'), await replica('fresh')];
    const [port, testPort] = [await freePort(), await freePort()];
    const options = { name: 't', port, testPort, upstreamTimeoutMs: 5000, readinessPath: '/ready', stateDir: dir };
    const first = new HaproxyRouter(options);
    await first.addBackend({ id: 'v1/1', version: 'v1', port: old.port });
    await first.setWeights({ v1: 100 });
    await first.start();
    const admin = new HaproxyAdmin(first.adminSocket);
    const pid = /^Pid: (\d+)$/m.exec(await admin.run('show info'))?.[1];
    // The first data plane is gone without stopping HAProxy (as after a crash where its death signal did not reach it).
    const abandon = (router: HaproxyRouter) => {
      const gone = router as unknown as { closed: boolean; poller: NodeJS.Timeout; stopFollowing?: () => void };
      gone.closed = true;
      clearInterval(gone.poller);
      gone.stopFollowing?.();
    };
    abandon(first);
    // Clients all along: the attach fails none of them (it used to take the live server's slot, and its traffic, first).
    const load = new LoadGenerator({ url: `http://127.0.0.1:${port}/`, requestsPerSecond: 400, concurrency: 8 });
    load.start();
    await eventually(
      async () => load.stats.sent,
      (n) => n >= 40,
    );
    const second = new HaproxyRouter(options);
    started.push(second);
    await second.addBackend({ id: 'v1/2', version: 'v1', port: fresh.port });
    await second.setWeights({ v1: 100 });
    await second.start();
    expect(/^Pid: (\d+)$/m.exec(await admin.run('show info'))?.[1]).toBe(pid);
    const serving = (await admin.serverStats()).filter((s) => s.backend === 'production' && s.status === 'UP' && s.weight > 0);
    expect(serving.map((s) => s.address)).toEqual([`127.0.0.1:${fresh.port}`]);
    // A third attaches knowing the replica that serves: it adopts that live server as it is, and the test
    // route serving it stays open all along (it used to be closed and opened again at every attach).
    await second.setTestVersion('v1');
    const tests = new LoadGenerator({ url: `http://127.0.0.1:${testPort}/`, requestsPerSecond: 400, concurrency: 8 });
    tests.start();
    await eventually(
      async () => tests.stats.sent,
      (n) => n >= 20,
    );
    abandon(second);
    const third = new HaproxyRouter(options);
    started.push(third);
    await third.addBackend({ id: 'v1/2', version: 'v1', port: fresh.port });
    await third.setWeights({ v1: 100 });
    await third.setTestVersion('v1');
    await third.start();
    const now = (await admin.serverStats()).filter((s) => s.backend === 'production' && s.status === 'UP' && s.weight > 0);
    expect(now.map((s) => [s.server, s.address])).toEqual(serving.map((s) => [s.server, s.address]));
    const seen = load.stats.sent;
    await eventually(
      async () => load.stats.sent,
      (n) => n >= seen + 40,
    );
    expect((await load.stop()).failed).toBe(0);
    expect((await tests.stop()).failed).toBe(0);
    const answer = await fetch(`http://127.0.0.1:${port}/`);
    expect(await answer.text()).toBe('fresh');
    // The replica sees the X-Forwarded-* headers the built-in proxy sets.
    expect(fresh.seen()).toMatchObject({
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': `127.0.0.1:${port}`,
      'x-forwarded-port': String(port),
    });
  });

  it('a replica whose readiness check is slow keeps its traffic (no check takes it out); production with no server up is reported in health', async () => {
    const slow = createServer((req, res) => (req.url === '/ready' ? void setTimeout(() => res.end('ok'), 1200) : res.end('ok')));
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    started.push({ close: () => new Promise((r) => (slow.closeAllConnections(), slow.close(() => r()))) });
    const r = new HaproxyRouter({ name: 't', port: 0, upstreamTimeoutMs: 5000, readinessPath: '/ready' });
    started.push(r);
    await r.addBackend({ id: 'v/1', version: 'v', port: (slow.address() as AddressInfo).port });
    await r.setWeights({ v: 100 });
    await r.start();
    const url = `http://127.0.0.1:${r.productionPort}/`;
    const statuses = new Set<number>();
    for (const end = Date.now() + 3500; Date.now() < end; await sleep(50)) {
      const answer = await fetch(url);
      await answer.text();
      statuses.add(answer.status);
    }
    expect([...statuses]).toEqual([200]);
    expect(r.health().failure).toBeUndefined();
    // Its server put in maintenance by hand: HAProxy answers 503 itself, and the data plane says so.
    await new HaproxyAdmin(r.adminSocket).expect('set server production/slot1 state maint');
    expect((await fetch(url)).status).toBe(503);
    const failure = await eventually(
      async () => r.health().failure,
      (f) => f !== undefined,
      { timeoutMs: 5000 },
    );
    expect(failure).toMatch(/no server up|for want of a server/);
  });

  it('HAProxy dies with its data plane killed with SIGKILL (as root too), so no orphan keeps serving on the port', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-hx-orphan-'));
    const fixture = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/processes/haproxy-data-plane.ts');
    const child = runTs(fixture, ['0', dir]);
    const { pid } = JSON.parse(await firstLine(child)) as { pid: number; port: number };
    started.push({
      close: async () => {
        if (!gone(pid)) process.kill(pid, 'SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        // As root, its socket folder in the temporary folder (what the data plane's close would remove).
        const sockets = new HaproxyRouter({ name: 'x', port: 0, upstreamTimeoutMs: 1000, readinessPath: '/', stateDir: dir }).adminSocket;
        if (sockets.includes('sy-hx-')) rmSync(dirname(sockets), { recursive: true, force: true });
        rmSync(dir, { recursive: true, force: true });
      },
    });
    if (asRoot) expect(uidOf(pid)).toBe(haproxyUid());
    child.kill('SIGKILL');
    await eventually(
      async () => gone(pid),
      (g) => g,
      { timeoutMs: 5000 },
    );
  });

  it('a long state folder path: the admin socket goes to one folder of the temporary folder, the same at every start, removed at close', async () => {
    const base = mkdtempSync(join(tmpdir(), 'switchyard-hx-long-'));
    started.push({ close: async () => rmSync(base, { recursive: true, force: true }) });
    const options = { name: 't', port: 0, upstreamTimeoutMs: 1000, readinessPath: '/ready', stateDir: join(base, 'x'.repeat(100)) };
    const first = new HaproxyRouter(options);
    await first.start();
    const socket = first.adminSocket;
    expect(Buffer.byteLength(socket)).toBeLessThan(100);
    await first.close();
    expect(existsSync(dirname(socket))).toBe(false);
    expect(new HaproxyRouter(options).adminSocket).toBe(socket);
  });
});

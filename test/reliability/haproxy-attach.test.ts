import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HaproxyAdmin } from '../../src/adapters/local/haproxy-admin.js';
import { HaproxyRouter } from '../../src/adapters/local/haproxy-router.js';
import { LOG_FORMAT } from '../../src/adapters/local/haproxy-log.js';
import { LoadGenerator } from '../../src/local/load.js';
import { describeWithHaproxy, pidNamespaces, startSiteHaproxy, type SiteHaproxy } from '../support/haproxy.js';
import { eventually } from '../support/poll.js';

// A site's own HAProxy, started here from a configuration as its operator writes it (docs/haproxy.md:
// "Attaching to your own HAProxy"): Switchyard steers only the backends it is given, through the runtime
// API, and never writes, reloads, starts or stops that HAProxy.

const SITE_CONFIG = `global
  stats socket {socket} mode 600 level admin
  stats socket {socket}.operator mode 600 level operator

ring switchyard
  format raw
  size 1048576

defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response

frontend shop
  bind 127.0.0.1:{port}
  log ring@switchyard local0 info
  log-format "${LOG_FORMAT}"
  default_backend shop

frontend shop-test
  bind 127.0.0.1:{testPort}
  default_backend shop-test

backend shop
  balance roundrobin
  server-template slot 1-5 127.0.0.1:9 disabled

backend shop-test
  balance roundrobin
  server-template slot 1-5 127.0.0.1:9 disabled

backend small
  server-template slot 1-2 127.0.0.1:9 disabled

backend other
  server keep 127.0.0.1:9 weight 7
`;

let site: SiteHaproxy;
const closers: (() => Promise<void>)[] = [];

/** A replica answering every request with its version in x-version and its body. */
async function replica(version: string): Promise<number> {
  const server: Server = createServer((_req, res) => {
    res.setHeader('x-version', version);
    res.end(version);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))));
  return (server.address() as AddressInfo).port;
}

/** Every server of the site's HAProxy as `show stat` reports it: what Switchyard must not touch, or must leave as found. */
async function everyServer(socket = site.adminSocket): Promise<string[]> {
  return (await new HaproxyAdmin(socket).serverStats()).map((s) => `${s.backend}/${s.server} ${s.status} ${s.weight} ${s.address}`);
}

function router(
  attach: Partial<{ adminSocket: string; backend: string; testBackend: string; logRing: string; serverStateFile: string }> = {},
  replicas = 2,
  on: SiteHaproxy = site,
): HaproxyRouter {
  const r = new HaproxyRouter({
    name: 'shop',
    port: on.port,
    testPort: on.testPort,
    upstreamTimeoutMs: 30_000,
    readinessPath: '/ready',
    replicas,
    attach: { adminSocket: on.adminSocket, backend: 'shop', testBackend: 'shop-test', logRing: 'switchyard', ...attach },
  });
  closers.push(() => r.close());
  return r;
}

/** Waits for `count` more requests of the load to be answered. */
async function more(load: LoadGenerator, count: number): Promise<void> {
  const from = load.stats.sent;
  await eventually(
    async () => load.stats.sent,
    (n) => n >= from + count,
    { timeoutMs: 20_000 },
  );
}

describeWithHaproxy('attaching to a site’s own HAProxy through its admin socket', () => {
  beforeAll(async () => {
    site = await startSiteHaproxy(SITE_CONFIG);
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await site?.close();
  });

  it('refuses, changing nothing, an admin socket that is not there, one below level admin, a backend not declared, too few slots, one anyone could write to or replace', async () => {
    const before = await everyServer();
    const v1 = await replica('v1');
    const attempt = async (r: HaproxyRouter) => {
      await r.addBackend({ id: 'v1/1', version: 'v1', port: v1 });
      await r.setWeights({ v1: 100 });
      return r.start();
    };
    await expect(attempt(router({ adminSocket: '/run/no-such-haproxy/admin.sock' }))).rejects.toThrow(
      /admin socket \/run\/no-such-haproxy\/admin\.sock \(dataPlane\.attach\.adminSocket\) does not exist: is HAProxy running, with "stats socket/,
    );
    await expect(attempt(router({ adminSocket: `${site.adminSocket}.operator` }))).rejects.toThrow(/answers at level "operator".*level admin/);
    await expect(attempt(router({ backend: 'checkout' }))).rejects.toThrow(
      /has no backend "checkout" \(dataPlane\.attach\.backend\): add it to your haproxy\.cfg[\s\S]*backend checkout\n {2}balance roundrobin\n {2}server-template slot 1-5 127\.0\.0\.1:9 disabled/,
    );
    await expect(attempt(router({ backend: 'small', testBackend: 'shop-test' }))).rejects.toThrow(
      /backend "small" .* has 2 server slot\(s\) \(servers declared "disabled", not "backup"\); Switchyard needs 5/,
    );
    await expect(attempt(router({ logRing: 'nope' }))).rejects.toThrow(/no ring "nope"/);
    // A socket anyone could write to, or replace with their own: refused, with the mode to declare.
    const folder = dirname(site.adminSocket);
    const [socketMode, folderMode] = [statSync(site.adminSocket).mode & 0o777, statSync(folder).mode & 0o777];
    try {
      chmodSync(site.adminSocket, 0o666);
      await expect(attempt(router())).rejects.toThrow(
        /can be written to by any user, who could then steer HAProxy: declare it "stats socket .* mode 600 level admin"/,
      );
      chmodSync(site.adminSocket, socketMode);
      chmodSync(folder, 0o1777);
      await expect(attempt(router())).rejects.toThrow(/which any user can write to: any user could put a socket of theirs in its place/);
    } finally {
      chmodSync(site.adminSocket, socketMode);
      chmodSync(folder, folderMode);
    }
    expect(await everyServer()).toEqual(before);
  });

  it('a release and a rollback through the site’s HAProxy fail no request; its other backends and its configuration stay as they were; a stopped Switchyard leaves the stable version serving, and a restarted one adopts it', async () => {
    const other = (await everyServer()).filter((line) => line.startsWith('other/'));
    const pid = await new HaproxyAdmin(site.adminSocket).pid();
    const began = Date.now();
    const r = router();
    for (const [i, port] of [await replica('v1'), await replica('v1')].entries()) await r.addBackend({ id: `v1/${i}`, version: 'v1', port });
    await r.setWeights({ v1: 100 });
    await r.start();
    const load = new LoadGenerator({ url: `http://127.0.0.1:${site.port}/`, requestsPerSecond: 300, concurrency: 8 });
    load.start();
    await more(load, 100);

    // The release: v2 beside v1, its test route, the split shifted, v1 drained and gone.
    const v2Ports = [await replica('v2'), await replica('v2')];
    for (const [i, port] of v2Ports.entries()) await r.addBackend({ id: `v2/${i}`, version: 'v2', port });
    await r.setTestVersion('v2');
    expect((await fetch(`http://127.0.0.1:${site.testPort}/`)).headers.get('x-version')).toBe('v2');
    for (const v2 of [10, 50, 100]) {
      await r.setWeights({ v1: 100 - v2, v2 });
      await more(load, 60);
    }
    await r.drain('v1');
    expect(await r.waitIdle('v1', 10_000)).toBe(true);
    await r.removeVersion('v1');

    // A rollback: v3 takes half, then none; drained and gone.
    for (const [i, port] of [await replica('v3'), await replica('v3')].entries()) await r.addBackend({ id: `v3/${i}`, version: 'v3', port });
    await r.setWeights({ v2: 50, v3: 50 });
    await more(load, 100);
    await r.setWeights({ v2: 100 });
    await r.drain('v3');
    expect(await r.waitIdle('v3', 10_000)).toBe(true);
    await r.removeVersion('v3');
    await more(load, 60);

    // Counted from HAProxy's counters, timed from the site's log ring, per version.
    await eventually(
      async () => r.metrics.totals('v3', began, Date.now() + 1000),
      (t) => t.count > 0 && t.latencies.count > 0,
    );
    const stats = await load.stop();
    expect(stats.failed).toBe(0);
    expect([...stats.servedBy.keys()].sort()).toEqual(['v1', 'v2', 'v3']);
    expect((await everyServer()).filter((line) => line.startsWith('other/'))).toEqual(other);
    expect(readFileSync(`${site.adminSocket.replace(/admin\.sock$/, '')}haproxy.cfg`, 'utf8')).toBe(site.config);

    // Switchyard stops: the site's HAProxy runs on, serving the stable version as it was.
    const serving = (await everyServer()).filter((line) => line.startsWith('shop/') && !line.includes('MAINT'));
    await r.close();
    const after = new LoadGenerator({ url: `http://127.0.0.1:${site.port}/`, requestsPerSecond: 300, concurrency: 8 });
    after.start();
    await more(after, 100);
    expect(await new HaproxyAdmin(site.adminSocket).pid()).toBe(pid);

    // Switchyard starts again and attaches under load: the live servers of its replicas are adopted as they are.
    const again = router();
    for (const [i, port] of v2Ports.entries()) await again.addBackend({ id: `v2/${i}`, version: 'v2', port });
    await again.setWeights({ v2: 100 });
    await again.start();
    await more(after, 100);
    const served = await after.stop();
    expect(served.failed).toBe(0);
    expect([...served.servedBy.keys()]).toEqual(['v2']);
    expect((await everyServer()).filter((line) => line.startsWith('shop/') && !line.includes('MAINT'))).toEqual(serving);
    await again.close();
  });

  it('a site’s HAProxy restarted from its configuration (its slots disabled again) is given the replicas and weights again within seconds', async () => {
    const own = await startSiteHaproxy(SITE_CONFIG);
    closers.push(() => own.close());
    const r = router({ logRing: undefined }, 2, own);
    const v1 = [await replica('v1'), await replica('v1')];
    for (const [i, port] of v1.entries()) await r.addBackend({ id: `v1/${i}`, version: 'v1', port });
    await r.setWeights({ v1: 100 });
    await r.start();
    const serving = async () => (await everyServer(own.adminSocket)).filter((line) => line.startsWith('shop/') && !line.includes('MAINT'));
    const before = await serving();
    expect(before.map((line) => line.split(' ').pop()).sort()).toEqual(v1.map((port) => `127.0.0.1:${port}`).sort());
    await own.restart();
    // What its configuration declares: every slot disabled.
    expect(await serving()).toEqual([]);
    await eventually(serving, (now) => now.length === 2, { timeoutMs: 10_000, intervalMs: 50 });
    expect(r.health().failure).toBeUndefined();
    const load = new LoadGenerator({ url: `http://127.0.0.1:${own.port}/`, requestsPerSecond: 300, concurrency: 8 });
    load.start();
    await more(load, 100);
    const stats = await load.stop();
    expect(stats.failed).toBe(0);
    expect([...stats.servedBy.keys()]).toEqual(['v1']);
    // No log ring: requests are counted from HAProxy's counters, and no latency is made up from show stat's
    // averages (they hold keep-alive idle time): the configuration refuses latency gates without a ring.
    const since = Date.now() - 60_000;
    const totals = await eventually(
      async () => r.metrics.totals('v1', since, Date.now() + 1000),
      (t) => t.count >= 100,
    );
    expect(totals.latencies.count).toBe(0);
  });

  it('leaves the site’s own servers in its backends alone: a backup keeps answering when no replica serves, an extra test server is never disabled or deleted', async () => {
    const sorry = await replica('sorry');
    const own = await startSiteHaproxy(
      SITE_CONFIG.replace(
        'server-template slot 1-5 127.0.0.1:9 disabled\n\nbackend shop-test',
        `server-template slot 1-5 127.0.0.1:9 disabled\n  server sorry 127.0.0.1:${sorry} backup\n\nbackend shop-test`,
      ).replace(
        'backend shop-test\n  balance roundrobin\n  server-template slot 1-5 127.0.0.1:9 disabled',
        `backend shop-test\n  balance roundrobin\n  server-template slot 1-5 127.0.0.1:9 disabled\n  server extra 127.0.0.1:${sorry}`,
      ),
    );
    closers.push(() => own.close());
    const siteOwn = async () => (await everyServer(own.adminSocket)).filter((line) => /^shop(-test)?\/(sorry|extra) /.test(line));
    const before = await siteOwn();
    expect(before).toEqual([`shop/sorry UP 1 127.0.0.1:${sorry}`, `shop-test/extra UP 1 127.0.0.1:${sorry}`]);
    const version = async () => (await fetch(`http://127.0.0.1:${own.port}/`)).headers.get('x-version');
    expect(await version()).toBe('sorry');

    const r = router({}, 2, own);
    for (const [i, port] of [await replica('v1'), await replica('v1')].entries()) await r.addBackend({ id: `v1/${i}`, version: 'v1', port });
    await r.setWeights({ v1: 100 });
    await r.start();
    // Attached with the backup beside the 5 slots: it is never counted as one, nor given a replica.
    expect(await siteOwn()).toEqual(before);
    expect(await version()).toBe('v1');
    await r.setTestVersion('v1');
    for (const port of [await replica('v1'), await replica('v1'), await replica('v1')]) await r.addBackend({ id: `v1/${port}`, version: 'v1', port });
    await r.removeVersion('v1');
    // Every replica gone: the site's backup answers, as its configuration says.
    expect(await version()).toBe('sorry');
    expect(await siteOwn()).toEqual(before);
    await r.close();
    expect(await siteOwn()).toEqual(before);
  });

  it.runIf(pidNamespaces)(
    'a site’s HAProxy restarted with the same pid (pid 1 in its own pid namespace, as in a container) is given the replicas again',
    async () => {
      const own = await startSiteHaproxy(SITE_CONFIG, { pidNamespace: true });
      closers.push(() => own.close());
      const r = router({}, 2, own);
      const v1 = [await replica('v1'), await replica('v1')];
      for (const [i, port] of v1.entries()) await r.addBackend({ id: `v1/${i}`, version: 'v1', port });
      await r.setWeights({ v1: 100 });
      await r.start();
      const serving = async () => (await everyServer(own.adminSocket)).filter((line) => line.startsWith('shop/') && !line.includes('MAINT'));
      expect(await serving()).toHaveLength(2);
      // Restarted: the same pid, every slot disabled again (seen by a slot of a replica found in maintenance).
      await own.restart();
      expect(await new HaproxyAdmin(own.adminSocket).pid()).toBe(1);
      expect(await serving()).toEqual([]);
      await eventually(serving, (now) => now.length === 2 && now.every((line) => line.split(' ')[2] !== '0'), { timeoutMs: 10_000, intervalMs: 50 });
      expect((await fetch(`http://127.0.0.1:${own.port}/`)).headers.get('x-version')).toBe('v1');
    },
  );

  it('with a server state file, a site’s HAProxy restarted or reloaded from its configuration serves the replicas at once, as Switchyard left them', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'switchyard-state-'));
    closers.push(async () => rmSync(stateDir, { recursive: true, force: true }));
    const stateFile = join(stateDir, 'shop.state');
    const load = `  balance roundrobin\n  load-server-state-from-file local\n  server-state-file-name ${stateFile}\n  server-template slot 1-5`;
    const own = await startSiteHaproxy(SITE_CONFIG.replaceAll('  balance roundrobin\n  server-template slot 1-5', load));
    closers.push(() => own.close());
    const r = router({ serverStateFile: stateFile }, 2, own);
    const [v1, v2] = [await replica('v1'), await replica('v2')];
    await r.addBackend({ id: 'v1/0', version: 'v1', port: v1 });
    await r.addBackend({ id: 'v2/0', version: 'v2', port: v2 });
    await r.setWeights({ v1: 75, v2: 25 });
    await r.setTestVersion('v2');
    await r.start();
    const ours = async () => (await everyServer(own.adminSocket)).filter((line) => /^shop(-test)?\//.test(line));
    const before = await ours();
    await r.close(); // Switchyard not running: nothing would give the slots back
    await own.restart();
    expect(await ours()).toEqual(before);
    expect(before.filter((line) => line.startsWith('shop/') && !line.includes('MAINT'))).toEqual([
      `shop/slot1 UP 256 127.0.0.1:${v1}`,
      `shop/slot2 UP 85 127.0.0.1:${v2}`,
    ]);
    expect((await fetch(`http://127.0.0.1:${own.testPort}/`)).headers.get('x-version')).toBe('v2');
  });

  it('refuses a backend another service steers (its slots serve live replicas not this one’s), changing nothing; takes slots whose replicas are gone', async () => {
    const own = await startSiteHaproxy(SITE_CONFIG);
    closers.push(() => own.close());
    const first = router({}, 2, own);
    await first.addBackend({ id: 'a/0', version: 'a', port: await replica('a') });
    await first.setWeights({ a: 100 });
    await first.start();
    await first.close();
    const before = await everyServer(own.adminSocket);
    const second = router({}, 2, own);
    await second.addBackend({ id: 'b/0', version: 'b', port: await replica('b') });
    await second.setWeights({ b: 100 });
    await expect(second.start()).rejects.toThrow(
      /backend "shop" of the HAProxy at .* is in use: its slots slot1 \(127\.0\.0\.1:\d+\) serve replicas that are not this service's/,
    );
    expect(await everyServer(own.adminSocket)).toEqual(before);
    expect((await fetch(`http://127.0.0.1:${own.port}/`)).headers.get('x-version')).toBe('a');

    // The first service's replica gone (its data plane stopped): its slot is stale, and taken.
    const stale = await replica('gone');
    await new HaproxyAdmin(own.adminSocket).expect(`set server shop/slot1 addr 127.0.0.1 port ${stale}`, /.*/s);
    await closers.at(-1)!(); // the replica just started
    const third = router({}, 2, own);
    await third.addBackend({ id: 'c/0', version: 'c', port: await replica('c') });
    await third.setWeights({ c: 100 });
    await third.start();
    expect((await fetch(`http://127.0.0.1:${own.port}/`)).headers.get('x-version')).toBe('c');
  });
});

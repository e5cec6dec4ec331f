import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WeightedProxy, type ProxyHealth } from '../../src/adapters/local/proxy.js';
import { eventually } from '../support/poll.js';

// Findings of an attacker's test of the proxy: the gates must see what clients saw, and nothing a client
// abandons may hold a descriptor. Every wait here is for an event; timeouts are short configured ones.

const servers: Server[] = [];
const sockets = new Set<Duplex>();
let proxy: WeightedProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  for (const s of sockets) s.destroy();
  sockets.clear();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/**
 * A backend whose answers start at once and then misbehave by path: /stall sends 200 headers and a first
 * chunk and never finishes; /held does the same and finishes when `finish()` is called; /cut dies after
 * its first chunk; /steady sends a chunk every 50 ms, ten times. `open()` counts requests still open.
 */
async function streamingBackend(): Promise<{ port: number; open: () => number; finish: () => void }> {
  const open = new Set<IncomingMessage>();
  const held: (() => void)[] = [];
  const server = createServer((req, res) => {
    open.add(req);
    res.on('close', () => open.delete(req));
    res.writeHead(200, { 'content-type': 'text/plain' });
    if (req.url === '/steady') {
      let n = 0;
      const tick = setInterval(() => {
        res.write(`chunk ${n}\n`);
        if (++n === 10) {
          clearInterval(tick);
          res.end();
        }
      }, 50);
      res.on('close', () => clearInterval(tick));
      return;
    }
    res.write('first chunk\n');
    if (req.url === '/held') held.push(() => res.end('last chunk\n'));
    if (req.url === '/cut') res.write('', () => req.socket.destroy());
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, open: () => open.size, finish: () => held.splice(0).forEach((f) => f()) };
}

interface Outcome {
  readonly status: number;
  readonly body: string;
  /** Whether the whole body arrived (false: the connection was cut mid-body). */
  readonly complete: boolean;
}

/** A GET that reports what its client saw; `onFirstChunk` runs when the first piece of body arrives. */
function fetchBody(port: number, path: string, onFirstChunk?: (give: { up: () => void }) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        if (body === '') onFirstChunk?.({ up: () => req.destroy() });
        body += d.toString();
      });
      res.on('close', () => resolve({ status: res.statusCode ?? 0, body, complete: res.complete }));
    });
    req.on('error', () => resolve({ status: 0, body: '', complete: false }));
    req.end();
  });
}

/** What a gate on the version reads: its datapoint over the last minute. */
function gate(p: WeightedProxy, metric: string, statistic = 'Sum'): number | undefined {
  return p.metrics.datapoints('v2', metric, statistic, 60, 1, Date.now() + 1000)[0]?.value;
}

async function proxyTo(port: number, upstreamTimeoutMs: number): Promise<WeightedProxy> {
  const p = new WeightedProxy({ name: 't', port: 0, upstreamTimeoutMs });
  await p.start();
  p.addBackend({ id: 'a', version: 'v2', port });
  p.setWeights({ v2: 100 });
  return p;
}

describe('the proxy tells the gates what clients saw: a response counts when its body has finished', () => {
  it('a 200 whose body stalls past the upstream (idle) timeout is a 504 of that version, and its client’s connection is cut', async () => {
    const backend = await streamingBackend();
    proxy = await proxyTo(backend.port, 300);
    const seen = await fetchBody(proxy.productionPort, '/stall');
    // Headers were already sent: the client cannot be told 504, only that its answer was cut short.
    expect(seen).toMatchObject({ status: 200, body: 'first chunk\n', complete: false });
    expect(gate(proxy, 'RequestCount')).toBe(1);
    expect(gate(proxy, 'HTTPCode_Target_5XX_Count')).toBe(1);
    expect(gate(proxy, 'ErrorRate', 'Average')).toBe(100);
    // The wait is in the latency (to the end of the body, here its abort), not the instant the headers came.
    expect(gate(proxy, 'TargetResponseTime', 'Maximum')).toBeGreaterThanOrEqual(0.29);
    await eventually(
      async () => backend.open(),
      (n) => n === 0,
    ); // the upstream request was aborted
    expect(proxy.inflight('v2')).toBe(0);
  });

  it('the upstream timeout is idle time between chunks, as the ALB’s: a slow but steady body is not cut', async () => {
    const backend = await streamingBackend();
    // A chunk every 50 ms for 500 ms in all, an idle timeout of 1 s between them.
    proxy = await proxyTo(backend.port, 1000);
    const seen = await fetchBody(proxy.productionPort, '/steady');
    expect(seen.complete).toBe(true);
    expect(seen.body.split('\n').filter(Boolean)).toHaveLength(10);
    expect(gate(proxy, 'HTTPCode_Target_5XX_Count')).toBe(0);
    expect(gate(proxy, 'TargetResponseTime', 'Maximum')).toBeGreaterThanOrEqual(0.45);
  });

  it('a client that gives up mid-body counts against the version (460, an error for its gates) and takes the upstream request with it', async () => {
    const backend = await streamingBackend();
    proxy = await proxyTo(backend.port, 60_000);
    const seen = await fetchBody(proxy.productionPort, '/stall', (give) => give.up());
    expect(seen.complete).toBe(false);
    const p = proxy;
    await eventually(
      async () => gate(p, 'RequestCount'),
      (n) => n === 1,
    );
    expect(gate(proxy, 'HTTPCode_Target_5XX_Count')).toBe(1);
    await eventually(
      async () => backend.open(),
      (n) => n === 0,
    );
    expect(proxy.inflight('v2')).toBe(0);
  });

  it('a client that stops reading is the slow side: cut after the idle timeout, its request not counted against the version', async () => {
    // A body far larger than the socket buffers between backend, proxy and client.
    const big = Buffer.alloc(64 * 1024 * 1024, 'x');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(big);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    proxy = await proxyTo((server.address() as AddressInfo).port, 300);
    const p = proxy;
    let reader: IncomingMessage | undefined;
    const req = request({ host: '127.0.0.1', port: p.productionPort, path: '/', agent: false }, (res) => {
      reader = res;
      res.once('data', () => res.pause()); // one chunk, then no more reading
    });
    req.on('error', () => undefined);
    req.end();
    // The proxy gives up on the client once it has not read for the idle timeout.
    await eventually(
      async () => gate(p, 'RequestCount'),
      (n) => n === 1,
    );
    const complete = await new Promise<boolean>((resolve) => {
      reader!.on('close', () => resolve(reader!.complete));
      reader!.resume(); // reading again, it finds its connection closed
    });
    expect(complete).toBe(false);
    expect(gate(proxy, 'RequestCount')).toBe(1);
    expect(gate(proxy, 'HTTPCode_Target_5XX_Count')).toBe(0);
    expect(proxy.inflight('v2')).toBe(0);
  });

  it('a backend that dies mid-body is a 502 of that version, and its client’s connection is cut', async () => {
    const backend = await streamingBackend();
    proxy = await proxyTo(backend.port, 60_000);
    const seen = await fetchBody(proxy.productionPort, '/cut');
    expect(seen).toMatchObject({ status: 200, complete: false });
    expect(gate(proxy, 'HTTPCode_Target_5XX_Count')).toBe(1);
    expect(proxy.inflight('v2')).toBe(0);
  });

  it('the latency recorded runs to the end of the body, not to the headers', async () => {
    const backend = await streamingBackend();
    proxy = await proxyTo(backend.port, 60_000);
    const seen = fetchBody(proxy.productionPort, '/held', () => {
      // At least 250 ms between the headers and the end of the body (a sleep can only make it longer).
      setTimeout(backend.finish, 250);
    });
    expect(await seen).toMatchObject({ status: 200, body: 'first chunk\nlast chunk\n', complete: true });
    expect(gate(proxy, 'HTTPCode_Target_5XX_Count')).toBe(0);
    expect(gate(proxy, 'TargetResponseTime', 'Maximum')).toBeGreaterThanOrEqual(0.25);
  });
});

/** The descriptors this process holds: the proxy, its backends and the test's own clients all live here. */
const openFds = () => readdirSync('/proc/self/fd').length;

/**
 * A backend for upgrades: /ws switches protocols and echoes, /ws-once closes after its first echo, /ws-held
 * switches when `answer()` is called; /ws-hang never answers. A closed or
 * ended connection is closed on its side too, as a WebSocket server does. `open()` counts its sockets.
 */
async function upgradeBackend(): Promise<{ port: number; open: () => number; answer: () => void }> {
  const open = new Set<Duplex>();
  const held: (() => void)[] = [];
  const server = createServer((_req, res) => res.end('no upgrade'));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('end', () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.resume(); // read, so that the other side closing is seen
    const accept = () => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      // /ws-once closes its side after its first answer.
      socket.on('data', (d: Buffer) => socket.write(`echo:${d.toString()}`, () => req.url === '/ws-once' && socket.end()));
    };
    if (req.url === '/ws' || req.url === '/ws-once') accept();
    if (req.url === '/ws-held') held.push(accept);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, open: () => open.size, answer: () => held.splice(0).forEach((a) => a()) };
}

/** A raw client sending an upgrade request; resolves once connected. */
async function upgradeClient(port: number, path: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  sockets.add(socket);
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
  return socket;
}

/** Everything a socket receives until it closes. */
function received(socket: Socket): Promise<string> {
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  return new Promise((resolve) => socket.once('close', () => resolve(text)));
}

describe('upgrades (WebSocket) get the same timeouts and cleanup as plain requests', () => {
  it('abandoned upgrade requests leave no descriptor behind: 50 clients that leave before the answer cost 0 fds, inflight is released', async () => {
    const backend = await upgradeBackend();
    proxy = await proxyTo(backend.port, 60_000);
    const before = openFds();
    const clients = await Promise.all(Array.from({ length: 50 }, () => upgradeClient(proxy!.productionPort, '/ws-hang')));
    // Every request reached the backend, which holds it unanswered.
    await eventually(
      async () => backend.open(),
      (n) => n === 50,
    );
    expect(openFds()).toBeGreaterThanOrEqual(before + 150); // client, proxy's two sides, backend: each one
    for (const c of clients) c.destroy();
    const after = await eventually(
      async () => openFds(),
      (n) => n <= before + 2,
      { timeoutMs: 10_000 },
    );
    console.log(`upgrades: 50 abandoned upgrade requests, descriptors ${before} before, ${after} after`);
    expect(backend.open()).toBe(0);
    expect(proxy.inflight('v2')).toBe(0);
  });

  it('a backend that never answers an upgrade is a 504 after the upstream timeout, counted against its version', async () => {
    const backend = await upgradeBackend();
    proxy = await proxyTo(backend.port, 300);
    const client = await upgradeClient(proxy.productionPort, '/ws-hang');
    expect(await received(client)).toMatch(/^HTTP\/1\.1 504 /);
    expect(gate(proxy, 'HTTPCode_Target_5XX_Count')).toBe(1);
    await eventually(
      async () => backend.open(),
      (n) => n === 0,
    );
    expect(proxy.inflight('v2')).toBe(0);
  });

  it('what a client sends before the backend’s answer reaches the backend once the tunnel is up', async () => {
    const backend = await upgradeBackend();
    proxy = await proxyTo(backend.port, 60_000);
    const client = await upgradeClient(proxy.productionPort, '/ws-held');
    let seen = '';
    const echoed = new Promise<void>((resolve) =>
      client.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('echo:early')) resolve();
      }),
    );
    await eventually(
      async () => backend.open(),
      (n) => n === 1,
    ); // the proxy is waiting on the backend's answer
    client.write('early');
    backend.answer();
    await echoed;
    expect(seen).toMatch(/^HTTP\/1\.1 101 /);
    client.destroy();
    const p = proxy;
    await eventually(
      async () => p.inflight('v2'),
      (n) => n === 0,
    );
  });

  it('an established tunnel closes when the backend closes its side', async () => {
    const backend = await upgradeBackend();
    proxy = await proxyTo(backend.port, 60_000);
    const client = await upgradeClient(proxy.productionPort, '/ws-once');
    const text = received(client);
    await new Promise((r) => client.once('data', r)); // 101 Switching Protocols
    client.write('hi');
    expect(await text).toContain('echo:hi');
    await eventually(
      async () => backend.open(),
      (n) => n === 0,
    );
    expect(proxy.inflight('v2')).toBe(0);
  });

  it('an established tunnel that sits idle past the upstream timeout is closed on both sides, as the ALB closes idle WebSockets', async () => {
    const backend = await upgradeBackend();
    proxy = await proxyTo(backend.port, 300);
    const client = await upgradeClient(proxy.productionPort, '/ws');
    const text = received(client);
    await new Promise((r) => client.once('data', r)); // 101 Switching Protocols
    client.write('hi');
    // Nothing more is sent either way: the idle timeout ends the tunnel, both sides.
    expect(await text).toContain('echo:hi');
    await eventually(
      async () => backend.open(),
      (n) => n === 0,
    );
    expect(proxy.inflight('v2')).toBe(0);
    const p = proxy;
    expect(p.health().connections).toBe(0);
  });
});

/** A proxy in a child process limited to `fds` descriptors, with its health a message away. */
async function proxyAtLimit(backendPort: number, fds: number): Promise<{ port: number; health: () => Promise<ProxyHealth>; stop: () => void }> {
  const child = spawn('sh', ['-c', `ulimit -n ${fds} && exec "${process.execPath}" --import tsx test/support/proxy-process.ts ${backendPort}`], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const health = () =>
    new Promise<ProxyHealth>((resolve) => {
      child.once('message', (m) => resolve(m as ProxyHealth));
      child.send('health');
    });
  return { port, health, stop: () => child.kill('SIGKILL') };
}

/** One raw GET on an open connection; resolves with the status line's code (0 if the connection closed first). */
function getOn(socket: Socket, path: string): Promise<number> {
  let text = '';
  return new Promise((resolve) => {
    const done = () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0));
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      if (/\r\n\r\n/.test(text)) done();
    });
    socket.once('close', done);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: proxy\r\n\r\n`);
  });
}

describe('the proxy reports running out of descriptors, so /healthz need not say ok while every request fails', () => {
  it('at the descriptor limit requests on open connections answer 502, and proxy.health() says why (EMFILE); freed, it serves again', async () => {
    const backend = await streamingBackend();
    const limited = await proxyAtLimit(backend.port, 128);
    try {
      expect((await limited.health()).descriptorErrors).toBe(0);
      // Idle client connections hold one descriptor each in the proxy: open more than it may have. Those past
      // the limit are closed at once (libuv accepts and closes them, silently); the others stay open.
      const open = new Set<Socket>();
      let dropped = 0;
      await Promise.all(
        Array.from({ length: 200 }, async () => {
          const s = connect(limited.port, '127.0.0.1');
          sockets.add(s);
          s.on('error', () => undefined);
          open.add(s);
          s.once('close', () => {
            open.delete(s);
            dropped++;
          });
          await new Promise((r) => s.once('connect', r));
        }),
      );
      await eventually(limited.health, (h) => h.connections + dropped === 200);
      expect(dropped).toBeGreaterThan(0);
      // Every request needs a connection to the backend, and there is no descriptor left for one.
      const [first] = open;
      expect(await getOn(first!, '/steady')).toBe(502);
      const health = await limited.health();
      expect(health.descriptorErrors).toBeGreaterThan(0);
      expect(health.lastDescriptorErrorAt).toBeGreaterThan(0);
      console.log(`fd limit: ${health.connections} connections held, ${dropped} dropped, ${health.descriptorErrors} descriptor errors in proxy.health()`);
      for (const s of open) s.destroy();
      await eventually(limited.health, (h) => h.connections === 0);
      expect((await fetchBody(limited.port, '/steady')).complete).toBe(true);
    } finally {
      limited.stop();
    }
  });
});

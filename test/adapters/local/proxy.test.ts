import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/adapters/local/processes.js';
import { WeightedProxy } from '../../../src/adapters/local/proxy.js';
import { eventually } from '../../support/poll.js';

const servers: Server[] = [];
let proxy: WeightedProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A backend that answers with its version, the headers it got and the body it read. */
async function backend(version: string, status = 200): Promise<number> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-version': version });
      // Stream the answer in pieces.
      res.write(JSON.stringify({ version, headers: req.headers, body }).slice(0, 10));
      setTimeout(() => res.end(JSON.stringify({ version, headers: req.headers, body }).slice(10)), 5);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

async function send(
  port: number,
  method: string,
  body?: string,
): Promise<{ status: number; json: { version: string; headers: IncomingHttpHeaders; body: string } | undefined; raw: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path: '/x?y=1', headers: { 'x-forwarded-for': '10.9.8.7', ...(body ? { 'content-type': 'text/plain' } : {}) } },
      (res) => {
        let raw = '';
        res.on('data', (d: Buffer) => (raw += d.toString()));
        res.on('end', () => {
          let json;
          try {
            json = JSON.parse(raw) as { version: string; headers: IncomingHttpHeaders; body: string };
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json, raw });
        });
      },
    );
    req.on('error', reject);
    // A chunked, streamed request body.
    if (body) {
      req.write(body.slice(0, 3));
      setTimeout(() => req.end(body.slice(3)), 5);
    } else req.end();
  });
}

describe('the weighted proxy', () => {
  it('streams bodies both ways and sets X-Forwarded-* headers', async () => {
    proxy = new WeightedProxy({ name: 't', port: 0 });
    await proxy.start();
    proxy.addBackend({ id: 'a', version: 'v1', port: await backend('v1') });
    proxy.setWeights({ v1: 100 });
    const r = await send(proxy.productionPort, 'POST', 'hello streaming world');
    expect(r.status).toBe(200);
    expect(r.json?.body).toBe('hello streaming world');
    expect(r.json?.headers).toMatchObject({
      'x-forwarded-for': '10.9.8.7, 127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': `127.0.0.1:${proxy.productionPort}`,
      'x-forwarded-port': String(proxy.productionPort),
    });
  });

  it('splits production traffic by weight and sends the test route to the candidate only', async () => {
    proxy = new WeightedProxy({ name: 't', port: 0, testPort: 0 });
    await proxy.start();
    proxy.addBackend({ id: 'a', version: 'v1', port: await backend('v1') });
    proxy.addBackend({ id: 'b', version: 'v2', port: await backend('v2') });
    proxy.setWeights({ v1: 75, v2: 25 });
    proxy.setTestVersion('v2');
    const counts = { v1: 0, v2: 0 };
    for (let i = 0; i < 400; i++) counts[((await send(proxy.productionPort, 'GET')).json?.version ?? 'v1') as 'v1' | 'v2']++;
    expect(counts.v2).toBeGreaterThan(60);
    expect(counts.v2).toBeLessThan(140);
    for (let i = 0; i < 20; i++) expect((await send(proxy.testPortBound ?? 0, 'GET')).json?.version).toBe('v2');
    // Metrics per version, named like the ALB's.
    const points = proxy.metrics.datapoints('v2', 'RequestCount', 'Sum', 60, 1, Date.now() + 1000);
    expect(points.reduce((n, d) => n + d.value, 0)).toBe(counts.v2 + 20);
  });

  it('routes each request of one client by weight, even on one kept-alive connection: no client is held on one version (the judge relies on it)', async () => {
    proxy = new WeightedProxy({ name: 't', port: 0 });
    await proxy.start();
    proxy.addBackend({ id: 'a', version: 'v1', port: await backend('v1') });
    proxy.addBackend({ id: 'b', version: 'v2', port: await backend('v2') });
    proxy.setWeights({ v1: 50, v2: 50 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const counts = { v1: 0, v2: 0 };
    try {
      for (let i = 0; i < 100; i++) {
        const version = await new Promise<string>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port: proxy!.productionPort, path: '/', agent }, (res) => {
            sockets.add(res.socket);
            let raw = '';
            res.on('data', (d: Buffer) => (raw += d.toString()));
            res.on('end', () => resolve((JSON.parse(raw) as { version: string }).version));
          });
          req.on('error', reject);
          req.end();
        });
        counts[version as 'v1' | 'v2']++;
      }
    } finally {
      agent.destroy();
    }
    expect(sockets.size).toBe(1);
    // Binomial(100, 0.5): both well inside 25..75 unless requests were pinned to one version.
    expect(counts.v1).toBeGreaterThan(25);
    expect(counts.v2).toBeGreaterThan(25);
  });

  it('retries a GET that cannot reach a dead backend on the other version; a refused POST too, since nothing was sent', async () => {
    proxy = new WeightedProxy({ name: 't', port: 0 });
    await proxy.start();
    proxy.addBackend({ id: 'dead', version: 'v2', port: await freePort() });
    proxy.addBackend({ id: 'a', version: 'v1', port: await backend('v1') });
    proxy.setWeights({ v2: 100, v1: 0 });
    proxy.setWeights({ v2: 99, v1: 1 });
    for (let i = 0; i < 20; i++) {
      expect((await send(proxy.productionPort, 'GET')).json?.version).toBe('v1');
      expect((await send(proxy.productionPort, 'POST', 'payload')).json?.body).toBe('payload');
    }
    expect(proxy.proxyErrors).toBe(0);
  });

  it('answers 503 with a clear error when no backend is available, and 502 after the retries run out', async () => {
    proxy = new WeightedProxy({ name: 't', port: 0 });
    await proxy.start();
    const empty = await send(proxy.productionPort, 'GET');
    expect(empty.status).toBe(503);
    expect(empty.raw).toContain('no backend is available');
    proxy.addBackend({ id: 'dead', version: 'v1', port: await freePort() });
    proxy.setWeights({ v1: 100 });
    const dead = await send(proxy.productionPort, 'GET');
    expect(dead.status).toBe(502);
    expect(dead.raw).toContain('ECONNREFUSED');
  });

  it('draining: no new requests reach a draining version, in-flight ones finish', async () => {
    proxy = new WeightedProxy({ name: 't', port: 0 });
    await proxy.start();
    proxy.addBackend({ id: 'a', version: 'v1', port: await backend('v1') });
    proxy.addBackend({ id: 'b', version: 'v2', port: await backend('v2') });
    proxy.setWeights({ v1: 50, v2: 50 });
    const inflight = send(proxy.productionPort, 'GET');
    proxy.drain('v1');
    for (let i = 0; i < 20; i++) expect((await send(proxy.productionPort, 'GET')).json?.version).toBe('v2');
    expect((await inflight).status).toBe(200);
    expect(await proxy.waitIdle('v1', 1000)).toBe(true);
  });
});

describe('the weighted proxy: protocol upgrades', () => {
  it('passes a WebSocket-style upgrade through to a backend and joins the two connections', async () => {
    // A backend that accepts upgrades and echoes what it receives, prefixed with its version.
    const server = createServer((_req, res) => res.end('no upgrade'));
    const upgradedSockets: { destroyed: boolean }[] = [];
    server.on('upgrade', (req, socket) => {
      upgradedSockets.push(socket);
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${String(req.headers.upgrade)}\r\nConnection: Upgrade\r\n\r\n`);
      socket.on('data', (d: Buffer) => socket.write(`v2:${d.toString()}`));
      // As a WebSocket server does: when the other side ends the connection, end ours.
      socket.on('end', () => socket.end());
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    proxy = new WeightedProxy({ name: 't', port: 0 });
    await proxy.start();
    proxy.addBackend({ id: 'a', version: 'v2', port: (server.address() as AddressInfo).port });
    proxy.setWeights({ v2: 100 });
    const echoed = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: proxy!.productionPort, path: '/ws', headers: { connection: 'Upgrade', upgrade: 'websocket' } });
      req.on('upgrade', (res, socket) => {
        expect(res.statusCode).toBe(101);
        socket.once('data', (d: Buffer) => {
          resolve(d.toString());
          socket.destroy();
        });
        socket.write('hello');
      });
      req.on('error', reject);
      req.end();
    });
    expect(echoed).toBe('v2:hello');
    // The client left: the proxy closes the backend's side too, and the backend's connection is freed.
    await eventually(
      async () => upgradedSockets.every((s) => s.destroyed),
      (all) => all,
      { timeoutMs: 5000 },
    );
    expect(proxy.inflight('v2')).toBe(0);
  });
});

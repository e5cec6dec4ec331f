import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Router } from '../../src/adapters/local/router.js';
import { routersUnderTest } from '../support/haproxy.js';
import { eventually } from '../support/poll.js';

const servers: Server[] = [];
let proxy: Router | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A backend that answers /ok at once and never answers /hang. */
async function hangingBackend(): Promise<{ port: number; open: () => number }> {
  const hung = new Set<IncomingMessage>();
  const server = createServer((req, res) => {
    if (req.url === '/hang') {
      hung.add(req);
      req.on('close', () => hung.delete(req));
      return;
    }
    res.end('ok');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, open: () => hung.size };
}

function get(port: number, path: string, { abort }: { abort?: Promise<void> } = {}): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started }));
    });
    req.on('error', () => resolve({ status: 0, ms: Date.now() - started }));
    void abort?.then(() => req.destroy());
    req.end();
  });
}

/** A metric of a version over the last minute, once the data plane has counted it (HAProxy's counters are read every second). */
async function metric(name: string, statistic: string, until: (value: number | undefined) => boolean): Promise<number | undefined> {
  return eventually(async () => proxy?.metrics.datapoints('v2', name, statistic, 60, 1, Date.now())[0]?.value, until, { timeoutMs: 10_000 });
}

describe.each(routersUnderTest())('a hanging version is visible to the gates and cannot starve %s', (_name, makeRouter) => {
  it('a request the backend never answers ends in 504 after the upstream timeout, counted as a 5xx of that version with its latency', async () => {
    const backend = await hangingBackend();
    proxy = makeRouter({ name: 't', port: 0, upstreamTimeoutMs: 200 });
    await proxy.start();
    await proxy.addBackend({ id: 'a', version: 'v2', port: backend.port });
    await proxy.setWeights({ v2: 100 });
    const res = await get(proxy.productionPort, '/hang');
    expect(res.status).toBe(504);
    expect(res.ms).toBeGreaterThanOrEqual(190);
    expect(res.ms).toBeLessThan(2000);
    console.log(`hang: a request the backend never answers ended in 504 after ${res.ms.toFixed(0)} ms (upstream timeout 200 ms), counted as a 5xx`);
    expect(await metric('HTTPCode_Target_5XX_Count', 'Sum', (v) => v !== undefined)).toBe(1);
    expect(await metric('TargetResponseTime', 'Maximum', (v) => v !== undefined)).toBeGreaterThanOrEqual(0.19);
    await eventually(
      async () => backend.open(),
      (n) => n === 0,
    ); // the upstream request was aborted, not left hanging
  });

  it('clients that give up take their upstream requests with them: 300 abandoned requests leave the backend serving everyone else', async () => {
    const backend = await hangingBackend();
    proxy = makeRouter({ name: 't', port: 0, upstreamTimeoutMs: 60_000 });
    await proxy.start();
    await proxy.addBackend({ id: 'a', version: 'v2', port: backend.port });
    await proxy.setWeights({ v2: 100 });
    let giveUp: () => void = () => undefined;
    const abort = new Promise<void>((r) => (giveUp = r));
    const port = proxy.productionPort;
    const abandoned = Promise.all(Array.from({ length: 300 }, () => get(port, '/hang', { abort })));
    // Every socket the proxy may open to the backend is now held by a hung request.
    await eventually(
      async () => backend.open(),
      (n) => n >= 256,
      { timeoutMs: 10_000 },
    );
    giveUp();
    expect((await abandoned).every((r) => r.status === 0)).toBe(true);
    await eventually(
      async () => backend.open(),
      (n) => n === 0,
      { timeoutMs: 5_000 },
    );
    const served = await get(proxy.productionPort, '/ok');
    expect(served.status).toBe(200);
    expect(served.ms).toBeLessThan(1000);
    console.log(`starvation: after 300 abandoned requests the backend held 0 of them and served the next in ${served.ms.toFixed(0)} ms`);
    // The gates see the abandoned requests and how long they waited (the ALB's 460), not an error rate of 0 with no data.
    expect(await metric('RequestCount', 'Sum', (v) => (v ?? 0) >= 257)).toBeGreaterThanOrEqual(257);
    // Abandoned requests are counted, but not as the version's 5xx (the ALB counts its 460s apart).
    expect(await metric('HTTPCode_Target_5XX_Count', 'Sum', (v) => v !== undefined)).toBe(0);
  });
});

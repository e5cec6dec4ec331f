import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, type ManagedProcess } from '../../../src/adapters/local/processes.js';
import { waitReady } from '../../../src/adapters/local/readiness.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

describe('the readiness probe', () => {
  it('finds a fast service ready in milliseconds, not after a whole interval (it backs off toward the interval)', async () => {
    const port = await freePort();
    // The service listens 120 ms after it starts, as a quick web server would.
    setTimeout(() => {
      server = createServer((_req, res) => res.end('ok')).listen(port, '127.0.0.1');
    }, 120);
    const proc = { pid: 1, port, version: 'v2', logFile: '-', stopping: false } as unknown as ManagedProcess;
    const started = Date.now();
    // An interval of 10 s: found ready well before it (in about 0.2 s; 5 s leaves room for a loaded machine).
    await waitReady(proc, { path: '/ready', interval: 10, timeout: 30, successThreshold: 1 });
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 40_000);
});

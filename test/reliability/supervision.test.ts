import { afterEach, describe, expect, it } from 'vitest';
import { startLocalMode, type LocalMode } from '../../src/composition/local-mode.js';
import { resolveConfig } from '../../src/config/config.js';
import { eventually } from '../support/poll.js';

let mode: LocalMode | undefined;
afterEach(async () => {
  await mode?.stop();
  mode = undefined;
});

const service = {
  name: 'demo',
  target: {
    driver: 'local',
    command: ['node', 'examples/demo-service/server.mjs'],
    replicas: 2,
    port: 8080,
    readiness: { path: '/ready', interval: 0, timeout: '5s' },
    drainTimeout: '1s',
    env: { STARTUP_MS: '50' },
  },
  strategy: { type: 'blue-green' },
};

const status = async (url: string) => (await fetch(url).catch(() => undefined))?.status ?? 0;

describe('the stable version is supervised', () => {
  it('killing every stable replica is reported (healthz 503, /services down) and the replicas come back, serving again', async () => {
    mode = await startLocalMode({ config: resolveConfig({ services: [service] }), port: 0, inMemory: true, ephemeralPorts: true, token: 't' });
    const target = mode.targets.get('demo');
    if (!target) throw new Error('no target');
    const site = `http://127.0.0.1:${target.proxy.productionPort}/`;
    expect(await status(site)).toBe(200);
    const pids = target.pids;
    expect(pids).toHaveLength(2);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await eventually(
      async () => target.health().status,
      (s) => s === 'down',
    );
    expect(await status(`${mode.apiUrl}/healthz`)).toBe(503);
    const services = (await (await fetch(`${mode.apiUrl}/services`)).json()) as { services: { health?: { status: string } }[] };
    expect(services.services[0]?.health?.status).toBe('down');
    // Replaced with backoff, as ECS replaces tasks; then it serves again and says so.
    await eventually(
      async () => target.health(),
      (h) => h.status === 'ok',
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    expect(target.health().restarts).toBeGreaterThanOrEqual(2);
    expect(target.pids.some((p) => pids.includes(p))).toBe(false);
    expect(await status(site)).toBe(200);
    expect(await status(`${mode.apiUrl}/healthz`)).toBe(200);
  }, 30_000);
});

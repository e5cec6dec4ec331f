import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/adapters/local/processes.js';
import { eventually } from '../support/poll.js';
import { interruptAll } from '../support/ctrl-c.js';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

/**
 * `npm start -- --no-demo` (the README's way to the demo's stack without its release): a newcomer then
 * releases the demo service by hand. Its before-traffic webhook gate must still be answered, as under
 * `--demo`; found by running it as a new user: every such release rolled back on an unset secret.
 */
describe('switchyard local --no-demo on the demo config', () => {
  it('answers the demo smoke webhook, so a release by hand succeeds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-no-demo-'));
    const [port, testPort, apiPort, hookPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const config = {
      services: [
        {
          name: 'demo',
          target: {
            driver: 'local',
            command: ['node', join(process.cwd(), 'examples/demo-service/server.mjs')],
            port,
            testPort,
            readiness: { interval: 0 },
            drainTimeout: '1s',
          },
          strategy: { type: 'canary', steps: [{ percent: 50, bake: '1s' }], finalBake: '1s' },
          gates: {
            metrics: [],
            checkInterval: '1s',
            webhooks: [{ name: 'smoke', url: `http://127.0.0.1:${hookPort}/smoke`, secretEnv: 'NO_DEMO_SMOKE_SECRET', timeout: '5s', when: 'before-traffic' }],
          },
        },
      ],
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const env: NodeJS.ProcessEnv = { ...process.env, SWITCHYARD_TOKEN: 'no-demo-token' };
    delete env['NO_DEMO_SMOKE_SECRET'];
    const child = spawn(
      process.execPath,
      ['bin/switchyard.js', 'local', '--config', join(dir, 'config.json'), '--in-memory', '--port', String(apiPort), '--no-demo'],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    cleanup = async () => {
      await interruptAll([child]);
      rmSync(dir, { recursive: true, force: true });
    };
    await eventually(
      async () => out,
      (o) => o.includes('Ready.'),
      { timeoutMs: 30_000 },
    );
    expect(out).toContain(`Webhook    http://127.0.0.1:${hookPort}/smoke`);
    const api = `http://127.0.0.1:${apiPort}`;
    const auth = { authorization: 'Bearer no-demo-token' };
    const started = (await (
      await fetch(`${api}/releases`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ service: 'demo', image: 'v2' }),
      })
    ).json()) as { id: string };
    const ended = await eventually(
      async () => (await (await fetch(`${api}/releases/${started.id}`, { headers: auth })).json()) as { phase: string; reason?: string },
      (r) => ['succeeded', 'rolled_back', 'failed'].includes(r.phase),
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect({ phase: ended.phase, reason: ended.reason }).toEqual({ phase: 'succeeded', reason: undefined });
  }, 120_000);
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataPlaneTarget, socketPathFor } from '../../../src/adapters/local/data-plane-client.js';
import { resolveConfig } from '../../../src/config/config.js';
import { createRelease } from '../../../src/core/index.js';
import { driverContract } from '../../support/driver-contract.js';
import { T0 } from '../../support/releases.js';

// The same contract as the in-process local target, through the data plane process and its socket:
// every answer, state and error class must come back as the driver gave it.
driverContract(
  'the local driver in its data plane process',
  async () => {
    const [service] = resolveConfig({
      services: [
        {
          name: 'demo',
          target: {
            driver: 'local',
            command: ['node', 'examples/demo-service/server.mjs'],
            replicas: 1,
            port: 18080,
            readiness: { path: '/ready', interval: 0, timeout: '5s' },
            drainTimeout: '1s',
            env: { STARTUP_MS: '10' },
          },
          strategy: { type: 'canary', steps: [{ percent: 10, bake: '1m' }] },
        },
      ],
    }).services;
    if (!service || service.target.driver !== 'local') throw new Error('no local service');
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-dp-contract-'));
    const target = new DataPlaneTarget({
      service: 'demo',
      config: service.target,
      socketPath: socketPathFor(dir, 'demo', tmpdir()),
      logDir: join(dir, 'logs'),
      recordsDir: join(dir, 'processes', 'demo'),
      planeLog: join(dir, 'run', 'demo.log'),
      ephemeral: true,
      ephemeralPorts: true,
      stableVersion: async () => 'app:1',
    });
    await target.start();
    return {
      driver: target,
      release: (image) =>
        createRelease(
          {
            id: `r-${image.replace(':', '-')}`,
            service: 'demo',
            artifact: { image },
            plan: service.plan,
            settings: service.settings,
            actor: { id: 'ci', channel: 'api' },
          },
          T0,
        ),
      live: async (image) => target.traffic[image] ?? 0,
      deployments: async (image) => target.backendPorts(image).length,
      elapse: () => undefined,
      close: async () => {
        await target.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { timeout: 30_000 },
);

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalTarget } from '../../../src/adapters/local/local-target.js';
import { resolveConfig } from '../../../src/config/config.js';
import { createRelease } from '../../../src/core/index.js';
import { driverContract } from '../../support/driver-contract.js';
import { T0 } from '../../support/releases.js';

// Real processes (the demo service) behind the real proxy, on free ports.
driverContract(
  'the local driver',
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
    const logDir = mkdtempSync(join(tmpdir(), 'switchyard-contract-'));
    const target = new LocalTarget({ service: 'demo', config: service.target, logDir, ephemeralPorts: true });
    await target.start('app:1');
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
        await target.close();
        rmSync(logDir, { recursive: true, force: true });
      },
    };
  },
  { timeout: 30_000 },
);

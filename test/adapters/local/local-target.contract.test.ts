import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalTarget } from '../../../src/adapters/local/local-target.js';
import { driverContract } from '../../support/driver-contract.js';
import { contractRelease, contractService } from '../../support/local-contract.js';

// Real processes (the demo service) behind the real proxy, on free ports.
driverContract(
  'the local driver',
  async () => {
    const { service, target: config } = contractService();
    const logDir = mkdtempSync(join(tmpdir(), 'switchyard-contract-'));
    const target = new LocalTarget({ service: 'demo', config, logDir, ephemeralPorts: true });
    await target.start('app:1');
    return {
      driver: target,
      release: (image) => contractRelease(service, image),
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

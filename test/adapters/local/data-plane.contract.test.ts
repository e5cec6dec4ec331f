import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataPlaneTarget, socketPathFor } from '../../../src/adapters/local/data-plane-client.js';
import { driverContract } from '../../support/driver-contract.js';
import { contractRelease, contractService } from '../../support/local-contract.js';

// The same contract as the in-process local target, through the data plane process and its socket:
// every answer, state and error class must come back as the driver gave it.
driverContract(
  'the local driver in its data plane process',
  async () => {
    const { service, target: config } = contractService();
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-dp-contract-'));
    const target = new DataPlaneTarget({
      service: 'demo',
      config,
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
      release: (image) => contractRelease(service, image),
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

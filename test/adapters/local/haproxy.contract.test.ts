import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataPlaneTarget, socketPathFor } from '../../../src/adapters/local/data-plane-client.js';
import { driverContract } from '../../support/driver-contract.js';
import { describeWithHaproxy, liveShares } from '../../support/haproxy.js';
import { contractRelease, contractService } from '../../support/local-contract.js';

// The same contract as the built-in proxy's data plane, with HAProxy as the data plane: `live` reads the
// split from HAProxy's own runtime API (its servers' weights), not from what Switchyard believes it set.
describeWithHaproxy('the local driver with HAProxy as its data plane', () => {
  driverContract(
    'HAProxy driven through its runtime API',
    async () => {
      const { service, target: config } = contractService({ type: 'haproxy', binary: 'haproxy' });
      const dir = mkdtempSync(join(tmpdir(), 'switchyard-hx-contract-'));
      const socketPath = socketPathFor(dir, 'demo', tmpdir());
      const target = new DataPlaneTarget({
        service: 'demo',
        config,
        socketPath,
        logDir: join(dir, 'logs'),
        recordsDir: join(dir, 'processes', 'demo'),
        planeLog: join(dir, 'run', 'demo.log'),
        ephemeral: true,
        ephemeralPorts: true,
        stableVersion: async () => 'app:1',
      });
      await target.start();
      const admin = target.adminSocket ?? '';
      return {
        driver: target,
        release: (image) => contractRelease(service, image),
        live: async (image) => {
          const shares = await liveShares(admin);
          // Whole percents: HAProxy's weights are integers up to 256, so 10% may read 9.86%.
          return Math.round(target.backendPorts(image).reduce((n, port) => n + (shares.get(port) ?? 0), 0));
        },
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
});

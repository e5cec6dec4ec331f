import { defineConfig } from '@switchyard-release/switchyard';

/**
 * Rolling on the demo service: four replicas replaced one at a time (a new one ready before an old one
 * drains), the proxy's weights following the ready replicas, the gates watched after each batch.
 *
 *   npx switchyard local --config examples/local/rolling.config.ts --demo
 *   npx switchyard release demo v3-faulty    # caught at its first replica; the old one comes back
 */
export default defineConfig({
  environment: 'local',
  services: [
    {
      name: 'demo',
      target: {
        driver: 'local',
        command: ['node', 'examples/demo-service/server.mjs'],
        replicas: 4,
        port: 8080,
        readiness: { path: '/ready', interval: 1, timeout: '20s' },
        drainTimeout: '10s',
      },
      strategy: { type: 'rolling', batch: 25, batchBake: '8s', finalBake: '5s' },
      gates: {
        metrics: [
          { name: 'error-rate', metric: 'ErrorRate', statistic: 'Average', comparison: 'GreaterThanThreshold', threshold: 5, period: '8s', minSamples: 10 },
        ],
        checkInterval: '2s',
        onInconclusive: 'fail',
        maxExtension: '10s',
      },
      approvals: { at: ['before-finalize'], timeout: '10m' },
    },
  ],
});

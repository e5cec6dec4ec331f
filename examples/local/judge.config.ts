import { defineConfig } from '@switchyard-release/switchyard';

/**
 * The canary judge on the demo service: releases compared with the stable version side by side.
 * Try the subtle faults thresholds miss (the judge catches them within seconds at the demo's load):
 *
 *   npx switchyard local --config examples/local/judge.config.ts --demo
 *   npx switchyard release demo v5-flaky    # 500 on 2% of requests
 *   npx switchyard release demo v6-laggy    # 30 ms slower
 */
export default defineConfig({
  environment: 'local',
  services: [
    {
      name: 'demo',
      target: {
        driver: 'local',
        command: ['node', 'examples/demo-service/server.mjs'],
        replicas: 2,
        port: 8080,
        testPort: 8081,
        readiness: { path: '/ready', interval: 1, timeout: '20s' },
        drainTimeout: '10s',
      },
      strategy: { type: 'canary', steps: [{ percent: 50, bake: '1m' }], finalBake: '10s' },
      gates: {
        metrics: [
          { name: 'error-rate', metric: 'ErrorRate', statistic: 'Average', comparison: 'GreaterThanThreshold', threshold: 5, period: '10s', minSamples: 10 },
          {
            name: 'latency-p99',
            metric: 'TargetResponseTime',
            statistic: 'p99',
            comparison: 'GreaterThanThreshold',
            threshold: 0.5,
            period: '10s',
            minSamples: 10,
          },
        ],
        judge: { signals: ['errors', 'latency'], alpha: 0.05, tolerance: 0.2, period: '2s', earlyPass: '30s' },
        checkInterval: '2s',
        onInconclusive: 'fail',
        maxExtension: '10s',
      },
      approvals: { at: ['before-finalize'], approvers: [], timeout: '10m', onTimeout: 'rollback' },
    },
  ],
});

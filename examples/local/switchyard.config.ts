import { defineConfig } from '@switchyard-release/switchyard';

/**
 * Local mode: the demo service behind the built-in proxy on 127.0.0.1:8080 (test route on 8081).
 * A canary with short bakes so a whole release fits in about a minute.
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
        readiness: { path: '/ready', interval: 1, timeout: '20s', successThreshold: 1 },
        drainTimeout: '10s',
      },
      strategy: {
        type: 'canary',
        steps: [
          { percent: 10, bake: '10s' },
          { percent: 50, bake: '10s' },
        ],
        finalBake: '5s',
      },
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
        // Before any production traffic, a smoke test against the test route (docs/webhook-gates.md). With
        // `--demo` and the secret unset, Switchyard answers it itself (src/local/smoke-receiver.ts); point
        // the URL at your own receiver and export the secret to use yours.
        webhooks: [{ name: 'smoke', url: 'http://127.0.0.1:8790/smoke', secretEnv: 'DEMO_SMOKE_WEBHOOK_SECRET', timeout: '5s', when: 'before-traffic' }],
        checkInterval: '2s',
        onInconclusive: 'fail',
        maxExtension: '10s',
      },
      // A person approves before the old version is removed (the demo approves its own release).
      approvals: { at: ['before-finalize'], approvers: [], timeout: '10m', onTimeout: 'rollback' },
      onActiveRelease: 'queue',
    },
  ],
});

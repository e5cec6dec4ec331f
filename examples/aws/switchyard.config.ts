import { defineConfig } from '@switchyard-release/switchyard';

/**
 * AWS: two ECS services behind an ALB, deployed by CodeDeploy, released on every push to ECR.
 * Deploy with `npx cdk deploy -c config=examples/aws/switchyard.config.ts`.
 */
export default defineConfig({
  environment: 'production',
  api: { auth: 'iam' },
  removalPolicy: 'retain',
  services: [
    {
      name: 'checkout-api',
      target: {
        driver: 'codedeploy',
        cluster: 'prod',
        service: 'checkout-api',
        application: 'checkout-api',
        deploymentGroup: 'checkout-api-prod',
        containerName: 'app',
        containerPort: 8080,
        targetGroups: [
          { targetGroup: 'targetgroup/checkout-blue/0123456789abcdef', loadBalancer: 'app/prod-alb/0123456789abcdef' },
          { targetGroup: 'targetgroup/checkout-green/fedcba9876543210', loadBalancer: 'app/prod-alb/0123456789abcdef' },
        ],
      },
      trigger: { repository: 'checkout-api', tagPattern: 'v*' },
      strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '10m' },
      gates: {
        alarms: ['checkout-api-5xx', 'checkout-api-latency'],
        metrics: [
          {
            name: 'error-rate',
            metric: 'ErrorRate',
            statistic: 'Average',
            comparison: 'GreaterThanThreshold',
            threshold: 1,
            period: '1m',
            evaluationPeriods: 2,
            minSamples: 50,
          },
        ],
        checkInterval: '30s',
        // CodeDeploy moves on its own timer, so it cannot pause for a person mid-shift: roll back instead.
        onInconclusive: 'fail',
      },
      approvals: { at: ['before-finalize'], approvers: ['U012ABCDEF', 'U034GHIJKL'], timeout: '2h', onTimeout: 'rollback', fourEyes: true },
      notifications: { slack: { channel: 'C0123456789' } },
      onActiveRelease: 'queue',
    },
    {
      name: 'payments',
      target: {
        driver: 'codedeploy',
        cluster: 'prod',
        service: 'payments',
        application: 'payments',
        deploymentGroup: 'payments-prod',
        containerName: 'app',
        containerPort: 8443,
      },
      trigger: { repository: 'payments', tagPattern: 'release-*' },
      strategy: { type: 'blue-green', bake: '15m' },
      gates: { alarms: ['payments-errors'] },
      approvals: { at: ['before-traffic', 'before-finalize'], approvers: ['U012ABCDEF'], timeout: '1h' },
      notifications: { slack: { channel: '#payments-releases' } },
      onActiveRelease: 'reject',
    },
  ],
});

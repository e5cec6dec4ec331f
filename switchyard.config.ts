import { defineConfig } from '@switchyard-release/switchyard';

/**
 * The config `npx cdk deploy` deploys (and `npx switchyard` reads by default). Describe your ECS
 * services here; every field is checked when the file loads. More: examples/aws/switchyard.config.ts
 * and the README's Configuration section. A local-mode example: examples/local/switchyard.config.ts.
 */
export default defineConfig({
  environment: 'production',
  api: { auth: 'iam' },
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
        // Blue and green target groups (ARN suffixes), for the per-version ALB metrics.
        targetGroups: [
          { targetGroup: 'targetgroup/checkout-blue/0123456789abcdef', loadBalancer: 'app/prod-alb/0123456789abcdef' },
          { targetGroup: 'targetgroup/checkout-green/fedcba9876543210', loadBalancer: 'app/prod-alb/0123456789abcdef' },
        ],
      },
      // Every push of a v* tag to this ECR repository starts a release.
      trigger: { repository: 'checkout-api', tagPattern: 'v*' },
      strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '10m' },
      gates: {
        alarms: ['checkout-api-5xx'],
        metrics: [
          { name: 'error-rate', metric: 'ErrorRate', statistic: 'Average', comparison: 'GreaterThanThreshold', threshold: 1, period: '1m', minSamples: 50 },
        ],
      },
      approvals: { at: ['before-finalize'], approvers: ['alice'], timeout: '2h' },
      notifications: { slack: { channel: 'C0123456789' } },
    },
  ],
  // Approvers name people; alice proves who she is with her Slack user or her role session.
  people: [{ name: 'alice', slack: 'U012ABCDEF', iam: ['arn:aws:sts::123456789012:assumed-role/Deployer/alice'] }],
});

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
        // ECS native deployments (the service's deployment controller is ECS, the default), which AWS now
        // recommends over CodeDeploy: Switchyard holds ECS with a PAUSE hook at every step it owns, so a
        // bake, a gate or an approval may stand at any step. Moving from CodeDeploy: docs/drivers.md.
        driver: 'ecs',
        cluster: 'prod',
        service: 'checkout-api',
        containerName: 'app',
        // The production and alternate target groups (ARN suffixes) of the service's blue/green
        // settings, for the per-version ALB metrics.
        targetGroups: [
          { targetGroup: 'targetgroup/checkout-blue/0123456789abcdef', loadBalancer: 'app/prod-alb/0123456789abcdef' },
          { targetGroup: 'targetgroup/checkout-green/fedcba9876543210', loadBalancer: 'app/prod-alb/0123456789abcdef' },
        ],
        // Its task definition family: the stack lets Switchyard register revisions of this family only.
        family: 'checkout-api',
        // The only roles Switchyard may pass to ECS (the task definition's task and execution roles).
        passRoles: ['arn:aws:iam::123456789012:role/checkout-api-task', 'arn:aws:iam::123456789012:role/checkout-api-execution'],
        // Its containers' awslogs group: `switchyard logs`, the dashboard and approvals read it.
        logGroup: '/ecs/checkout-api',
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

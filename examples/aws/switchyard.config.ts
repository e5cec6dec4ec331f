import { defineConfig } from '@switchyard-release/switchyard';

/**
 * AWS: three ECS services behind an ALB, released on every push to ECR: two on ECS native
 * deployments (the `ecs` driver: linear with an approval while traffic is split, and rolling), one
 * still on the CodeDeploy controller. Deploy with `npx cdk deploy -c config=examples/aws/switchyard.config.ts`.
 */
export default defineConfig({
  environment: 'production',
  api: { auth: 'iam' },
  removalPolicy: 'retain',
  services: [
    {
      name: 'checkout-api',
      target: {
        // ECS native deployments: Switchyard holds ECS with a PAUSE hook at every step it owns.
        driver: 'ecs',
        cluster: 'prod',
        service: 'checkout-api',
        containerName: 'app',
        targetGroups: [
          { targetGroup: 'targetgroup/checkout-blue/0123456789abcdef', loadBalancer: 'app/prod-alb/0123456789abcdef' },
          { targetGroup: 'targetgroup/checkout-green/fedcba9876543210', loadBalancer: 'app/prod-alb/0123456789abcdef' },
        ],
        // What a release changes besides the image; the approval message shows the diff.
        taskDefinition: { overrides: { environment: { LOG_LEVEL: 'info' } } },
        // Its task definition family: the stack lets Switchyard register revisions of this family only.
        family: 'checkout-api',
        // The only roles Switchyard may pass to ECS (the task definition's task and execution roles).
        passRoles: ['arn:aws:iam::123456789012:role/checkout-api-task', 'arn:aws:iam::123456789012:role/checkout-api-execution'],
        // Its containers' awslogs group: `switchyard logs`, the dashboard and approvals read it.
        logGroup: '/ecs/checkout-api',
      },
      trigger: { repository: 'checkout-api', tagPattern: 'v*' },
      strategy: { type: 'linear', stepPercent: 20, interval: '3m', finalBake: '10m' },
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
          {
            // The load balancer's own 502/504s (a task that crashed, reset or hung): no target group
            // sees them, so neither error-rate nor the judge does. Any version's, not only the new one's.
            name: 'lb-5xx',
            metric: 'HTTPCode_ELB_5XX_Count',
            statistic: 'Sum',
            comparison: 'GreaterThanThreshold',
            threshold: 10,
            period: '5m',
          },
        ],
        // A check of your own in every bake (docs/webhook-gates.md): the workflow function POSTs the
        // release's context, signed with the secret in Secrets Manager, and takes the verdict it answers.
        webhooks: [
          {
            name: 'checkout-probe',
            url: 'https://ci.example.com/hooks/checkout-probe',
            secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:checkout-probe-webhook-AbCdEf',
            timeout: '10s',
            when: 'bake',
          },
        ],
        checkInterval: '30s',
        // ECS waits at Switchyard's pause hook, so an undecided bake can ask a person.
        onInconclusive: 'pause',
      },
      // With 20% on the new version, ECS paused: a person looks before the rest moves.
      approvals: { at: ['after-first-step'], approvers: ['alice', 'bob'], timeout: '2h', onTimeout: 'rollback', fourEyes: true },
      notifications: { slack: { channel: 'C0123456789' } },
      onActiveRelease: 'queue',
    },
    {
      name: 'search',
      // Rolling: ECS replaces a quarter of the tasks at a time while the gates watch; its circuit
      // breaker and the alarms stay on as a second net.
      target: {
        driver: 'ecs',
        cluster: 'prod',
        service: 'search',
        containerName: 'app',
        family: 'search',
        passRoles: ['arn:aws:iam::123456789012:role/search-task', 'arn:aws:iam::123456789012:role/search-execution'],
        logGroup: '/ecs/search',
      },
      trigger: { repository: 'search', tagPattern: 'v*' },
      strategy: { type: 'rolling', batch: 25, finalBake: '5m' },
      gates: { alarms: ['search-5xx'], checkInterval: '30s' },
      notifications: { slack: { channel: 'C0123456789' } },
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
        family: 'payments',
        passRoles: ['arn:aws:iam::123456789012:role/payments-task', 'arn:aws:iam::123456789012:role/payments-execution'],
      },
      trigger: { repository: 'payments', tagPattern: 'release-*' },
      strategy: { type: 'blue-green', bake: '15m' },
      gates: { alarms: ['payments-errors'] },
      approvals: { at: ['before-traffic', 'before-finalize'], approvers: ['alice'], timeout: '1h' },
      notifications: { slack: { channel: '#payments-releases' } },
      onActiveRelease: 'reject',
    },
  ],
  // Approvers name people; each person proves who they are on each channel (Slack, IAM, JWT).
  // Role sessions are pinned by the role's trust policy (see the README's security section).
  people: [
    { name: 'alice', slack: 'U012ABCDEF', iam: ['arn:aws:sts::123456789012:assumed-role/Deployer/alice'] },
    { name: 'bob', slack: 'U034GHIJKL', iam: ['arn:aws:sts::123456789012:assumed-role/Deployer/bob'] },
  ],
});

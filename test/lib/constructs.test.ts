import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EcrTrigger } from '../../lib/constructs/ecr-trigger.js';
import { ReleaseApi } from '../../lib/constructs/release-api.js';
import { ReleaseTable } from '../../lib/constructs/release-table.js';
import { ReleaseWorkflow } from '../../lib/constructs/release-workflow.js';
import { loadConfigWithSource } from '../../src/config/load.js';

/** A stack holding only what `build` adds, checked by cdk-nag: each construct carries its own acknowledgements. */
function alone(build: (stack: Stack) => void): { template: Template; violations: string[] } {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-')), context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Alone', { env: { account: '123456789012', region: 'eu-west-1' } });
  build(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try {
    app.synth();
  } catch {
    // the report below names what failed
  }
  const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as { pluginReports?: { violations?: { ruleName: string }[] }[] };
  return { template: Template.fromStack(stack), violations: (report.pluginReports ?? []).flatMap((p) => p.violations ?? []).map((v) => v.ruleName) };
}

const { config, raw } = await loadConfigWithSource('examples/aws/switchyard.config.ts');
const functionSettings = (stack: Stack) => ({ rawConfig: raw, table: new ReleaseTable(stack, 'Table').table });

describe('each construct stands alone, with its cdk-nag acknowledgements beside its resources', () => {
  it('ReleaseTable: on demand, point-in-time recovery, retained by default', () => {
    const { template, violations } = alone((stack) => new ReleaseTable(stack, 'Table'));
    expect(violations).toEqual([]);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: { BillingMode: 'PAY_PER_REQUEST', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } },
    });
  });

  it('ReleaseWorkflow: the state machine and its function, scoped to the configured targets', () => {
    const { template, violations } = alone(
      (stack) => new ReleaseWorkflow(stack, 'Workflow', { ...functionSettings(stack), config, stateMachineName: 'alone-release' }),
    );
    expect(violations).toEqual([]);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'alone-release', StateMachineType: 'STANDARD' });
  });

  it('ReleaseApi: every route authorized, no Slack route unless asked', () => {
    const { template, violations } = alone(
      (stack) =>
        new ReleaseApi(stack, 'Api', { ...functionSettings(stack), auth: config.api, stateMachineArn: ReleaseWorkflow.arnFor(stack, 'alone-release') }),
    );
    expect(violations).toEqual([]);
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => (r as { Properties: { RouteKey: string; AuthorizationType: string } }).Properties,
    );
    expect(routes.map((r) => r.RouteKey)).not.toContain('POST /slack/interactions');
    expect(new Set(routes.map((r) => r.AuthorizationType))).toEqual(new Set(['AWS_IAM']));
  });

  it('EcrTrigger: a rule with retries and a dead-letter queue when repositories are named, none otherwise', () => {
    const withRepos = alone(
      (stack) =>
        new EcrTrigger(stack, 'Trigger', {
          ...functionSettings(stack),
          repositories: ['checkout-api'],
          stateMachineArn: ReleaseWorkflow.arnFor(stack, 'alone-release'),
        }),
    );
    expect(withRepos.violations).toEqual([]);
    withRepos.template.resourceCountIs('AWS::Events::Rule', 1);
    withRepos.template.resourceCountIs('AWS::SQS::Queue', 1);
    const without = alone(
      (stack) =>
        new EcrTrigger(stack, 'Trigger', { ...functionSettings(stack), repositories: [], stateMachineArn: ReleaseWorkflow.arnFor(stack, 'alone-release') }),
    );
    expect(without.violations).toEqual([]);
    without.template.resourceCountIs('AWS::Events::Rule', 0);
  });
});

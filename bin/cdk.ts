// The CDK app: `npx cdk deploy` (config from switchyard.config.ts, or `-c config=path`).
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../src/config/config.js';
import { loadConfigWithSource } from '../src/config/load.js';
import { SwitchyardStack } from '../lib/switchyard-stack.js';

const app = new App();
const file = (app.node.tryGetContext('config') as string | undefined) ?? 'switchyard.config.ts';
try {
  const { config, raw } = await loadConfigWithSource(file);
  const local = config.services.filter((s) => s.target.driver === 'local').map((s) => s.name);
  if (local.length > 0) {
    throw new ConfigError(
      local.map((name) => ({
        path: `services (${name})`,
        message: 'uses driver "local", which runs only in local mode (`switchyard local`); in AWS use driver "ecs" (or "codedeploy")',
      })),
      file,
    );
  }
  new SwitchyardStack(app, (app.node.tryGetContext('stackName') as string | undefined) ?? 'Switchyard', {
    config,
    rawConfig: raw,
    env: { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

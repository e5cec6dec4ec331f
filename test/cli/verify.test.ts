import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs the switchyard command as a user would; no AWS endpoint is reachable here. */
function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/switchyard.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('switchyard verify and release --dry-run, from the command line', () => {
  it('verify --dry-run prints the read-only calls with their input and sends nothing', async () => {
    const { code, out } = await run(['verify', '--config', 'examples/aws/switchyard.config.ts', '--service', 'payments', '--dry-run']);
    expect(code).toBe(0);
    expect(out).toContain('dry run: nothing is sent');
    expect(out).toContain('codedeploy GetDeploymentGroup {"applicationName":"payments","deploymentGroupName":"payments-prod"}');
    expect(out).toContain('cloudwatch DescribeAlarms {"AlarmNames":["payments-errors"]');
  }, 30_000);

  it('verify without credentials fails each check with the reason and exits 1; an unknown service exits 2', async () => {
    const denied = await run(['verify', '--config', 'examples/aws/switchyard.config.ts', '--service', 'payments'], {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_PROFILE: 'switchyard-test-no-such-profile',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect(denied.code).toBe(1);
    expect(denied.out).toMatch(/✗ deployment group: could not be read: /);
    expect(denied.out).toContain('1 service(s) checked, 1 with problems');
    const unknown = await run(['verify', '--config', 'examples/aws/switchyard.config.ts', '--service', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('unknown service "nope"; configured services: checkout-api, search, payments');
  }, 60_000);

  it('release with no API running says so and exits 5; without its arguments it exits 2', async () => {
    const { code, err } = await run(['release', 'payments', 'payments:2', '--api', 'http://127.0.0.1:59998']);
    expect(code).toBe(5);
    expect(err).toContain('nothing answers at http://127.0.0.1:59998 (ECONNREFUSED)');
    const missing = await run(['release', 'payments']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("missing required argument 'image'");
  }, 30_000);
});

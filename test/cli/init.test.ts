import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** Runs the switchyard command as a user would. */
function run(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/switchyard.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

// Inside the checkout, where the package resolves (scripts/install-test.sh does the same from the tarball).
mkdirSync('.switchyard', { recursive: true });
const dir = mkdtempSync(join('.switchyard', 'init-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('switchyard init and diff, from the command line', () => {
  it('init --local writes a config that validate accepts; it never replaces a file without --force', async () => {
    const file = join(dir, 'switchyard.config.ts');
    const first = await run(['init', '--local', 'api=node server.js:8080:/healthz', 'web=node web.js:9000', '--out', file]);
    expect(first.code).toBe(0);
    expect(first.out).toContain(`Wrote ${file}: 1 line marked TODO(switchyard init) to check`);
    const validated = await run(['validate', '--config', file]);
    expect(validated.code).toBe(0);
    expect(validated.out).toContain('api (local, canary): 10% -> bake 1m -> 50% -> bake 1m -> 100% -> bake 1m -> finalize');
    expect(validated.out).toContain(`${file}: 2 service(s), valid`);

    writeFileSync(file, '// mine\n');
    const again = await run(['init', '--local', 'api=node server.js:8080', '--out', file]);
    expect(again.code).toBe(2);
    expect(again.err).toContain(`${file} already exists; nothing was written. Pass --force to replace it, or --out <file>`);
    expect(readFileSync(file, 'utf8')).toBe('// mine\n');
    const forced = await run(['init', '--service', 'api', '--command', 'node server.js', '--port', '8080', '--out', file, '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain("command: 'node server.js',");
  }, 60_000);

  it('--dry-run prints the config and writes nothing; bad input exits 2 with the syntax', async () => {
    const file = join(dir, 'dry.config.ts');
    const dry = await run(['init', '--local', 'api=node server.js:8080:/healthz', '--out', file, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain("import { defineConfig } from '@switchyard-release/switchyard';");
    expect(dry.out).toContain("readiness: { path: '/healthz', timeout: '30s' },");
    expect(existsSync(file)).toBe(false);
    const bad = await run(['init', '--local', 'api=node server.js', '--dry-run']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--local "api=node server.js": it does not end with :<port>');
    const both = await run(['init', '--local', 'api=node s.js:8080', '--from-ecs', 'prod/api', '--dry-run']);
    expect(both.code).toBe(2);
    expect(both.err).toContain('not both');
    const half = await run(['init', '--service', 'api', '--port', '8080', '--dry-run']);
    expect(half.code).toBe(2);
    expect(half.err).toContain('--service, --command and --port go together');
    // No AWS region anywhere: the call is named, and what to do (no endpoint is reachable here anyway).
    const { AWS_REGION: _r, AWS_DEFAULT_REGION: _d, AWS_PROFILE: _p, ...rest } = process.env;
    const noRegion = await run(['init', '--from-ecs', 'prod/api', '--dry-run'], {
      ...rest,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/nonexistent',
    });
    expect(noRegion.code).toBe(2);
    expect(noRegion.err).toContain('switchyard: ecs:DescribeServices could not be sent: no AWS region; pass --region or set AWS_REGION');
  }, 60_000);

  it('diff of a local service prints the version change, the plan and the gates (--json for machines), exit 0', async () => {
    const { code, out } = await run(['diff', 'demo', 'v9', '--config', 'examples/local/switchyard.config.ts', '--json']);
    expect(code).toBe(0);
    const diff = JSON.parse(out) as { change: unknown; plan: { strategy: string }; gates: { name: string }[] };
    expect(diff.change).toEqual({ kind: 'local', command: 'node examples/demo-service/server.mjs', from: 'v1', to: 'v9' });
    expect(diff.plan.strategy).toBe('canary');
    expect(diff.gates.map((g) => g.name)).toEqual(['process-health', 'error-rate', 'latency-p99', 'smoke']);
    const unknown = await run(['diff', 'nope', 'v9', '--config', 'examples/local/switchyard.config.ts']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('unknown service "nope"; configured services: demo');
  }, 60_000);
});

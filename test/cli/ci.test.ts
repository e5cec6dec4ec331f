import { serve, type ServerType } from '@hono/node-server';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { bearerAuthenticator } from '../../src/api/auth.js';
import { ciInputs, githubOutputs, runCi } from '../../src/cli/ci.js';
import { ReleaseViewSchema, toReleaseView } from '../../src/contract/index.js';
import { evolve } from '../../src/core/timeline.js';
import { markDeployed, markShifted } from '../../src/core/transitions.js';
import { canary, release, T0 } from '../support/releases.js';
import { serviceConfig, startHarness, type Harness } from '../support/harness.js';

/**
 * `switchyard ci`, the script the GitHub Action runs: against the real API (the local runtime on a
 * virtual clock) and, for a release that never ends, a stand-in that serves a contract-valid view. The
 * step's outputs and summary are read from the files GitHub would read them from.
 */
let h: Harness;
let server: ServerType;
let api: string;
let dir: string;

beforeAll(async () => {
  h = await startHarness([serviceConfig('web')]);
  const app = createApp({ releases: h.releases, store: h.store, services: h.services, clock: h.clock, authenticate: bearerAuthenticator('t') });
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'switchyard-ci-'));
});
afterAll(async () => {
  await h.close();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

const digest = (c: string) => `sha256:${c.repeat(64)}`;

interface Step {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
  /** The step outputs as GitHub reads them from $GITHUB_OUTPUT. */
  readonly outputs: Record<string, string>;
  /** What $GITHUB_STEP_SUMMARY holds. */
  readonly summary: string;
}

let runs = 0;
/** Runs `switchyard ci` as the action does: inputs as options, GitHub's files in the environment. */
async function step(args: string[], env: Record<string, string> = {}): Promise<Step> {
  const outputsFile = join(dir, `output-${++runs}`);
  const summaryFile = join(dir, `summary-${runs}`);
  const { code, out, err } = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, ['bin/switchyard.js', 'ci', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SWITCHYARD_API: api, SWITCHYARD_TOKEN: 't', GITHUB_OUTPUT: outputsFile, GITHUB_STEP_SUMMARY: summaryFile, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
  const read = (file: string) => readFile(file, 'utf8').catch(() => '');
  return { code, out, err, outputs: parseOutputs(await read(outputsFile)), summary: await read(summaryFile) };
}

/** $GITHUB_OUTPUT as the runner parses it: `name=value` lines and `name<<DELIMITER` blocks. */
function parseOutputs(file: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = file.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const block = /^([^=<]+)<<(.+)$/.exec(line);
    if (block) {
      const end = lines.indexOf(block[2]!, i + 1);
      outputs[block[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (line.includes('=')) outputs[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  }
  return outputs;
}

describe('switchyard ci (the GitHub Action’s script) against the real API', () => {
  it('starts a release of an image, waits, exits 0 and reports release-id, outcome and a summary of plan, gates and timeline', async () => {
    const run = await step(['--service', 'web', '--image', `web:1.0.0@${digest('a')}`, '--interval', '0.05s', '--timeout', '2m']);
    expect(run.code, run.err).toBe(0);
    const id = run.outputs['release-id'];
    expect(id).toMatch(/^r-/);
    expect(run.outputs['outcome']).toBe('succeeded');
    expect((await h.store.get(id!))?.phase).toBe('succeeded');
    expect(run.summary).toContain(`### ✅ web: release \`${id}\` succeeded`);
    expect(run.summary).toContain(`| image | \`web:1.0.0@${digest('a')}\` |`);
    // The plan, every step done; the gate that was checked; the timeline's first and last events.
    expect(run.summary).toMatch(/#### Plan\n\n- \[x\] 10%\n- \[x\] bake 5m\n- \[x\] 100%\n- \[x\] bake 5m\n- \[x\] finalize\n/);
    expect(run.summary).toMatch(/\| error-rate \| ✅ pass \| .+ \|/);
    expect(run.summary).toMatch(/#### Timeline\n\n\| time \(UTC\) \| event \| by \|\n\| --- \| --- \| --- \|\n\| 2\d{3}-/);
    expect(run.out).toContain(`${id}: succeeded`);
  });

  it('exits 1 with outcome rolled_back when a gate fails, and the summary says which gate and why', async () => {
    const image = `web:2.0.0@${digest('b')}`;
    h.metrics.errorRate.set(image, 60);
    const result = await runCi({ api, service: 'web', image, wait: true, timeoutMs: 60_000, pollMs: 20, auth: { token: 't' } });
    expect(result).toMatchObject({ exitCode: 1, outcome: 'rolled_back', releaseId: expect.stringMatching(/^r-/) });
    expect(result.summary).toContain(`### ❌ web: release \`${result.releaseId}\` rolled\\_back`);
    expect(result.summary).toMatch(/> gate failed: error-rate/);
    expect(result.summary).toMatch(/\| error-rate \| ❌ fail \| .+ \|/);
  });

  it('follows the release an ECR push of a digest started (the push, not the step, starts it)', async () => {
    const { release: pushed } = await h.releases.startRelease({ service: 'web', image: `web:3.0.0@${digest('c')}`, actor: { id: 'ecr', channel: 'ecr' } });
    const result = await runCi({ api, service: 'web', digest: digest('c'), wait: true, timeoutMs: 60_000, pollMs: 20, auth: { token: 't' } });
    expect(result).toMatchObject({ exitCode: 0, outcome: 'succeeded', releaseId: pushed.id });
  });

  it('following a digest released before (rolled back) waits for the new push’s release, not the old one', async () => {
    const D = digest('e');
    const image = `web:5.0.0@${D}`;
    h.metrics.errorRate.set(image, 60);
    const first = await runCi({ api, service: 'web', image, wait: true, timeoutMs: 60_000, pollMs: 20, auth: { token: 't' } });
    expect(first.outcome).toBe('rolled_back');
    h.metrics.errorRate.set(image, 0);
    // The step starts following (on the API's clock, now) before the new push's release has started.
    const followed = runCi({ api, service: 'web', digest: D, since: h.clock.now(), wait: true, timeoutMs: 60_000, pollMs: 20, auth: { token: 't' } });
    await new Promise((r) => setTimeout(r, 200));
    const { release: pushed } = await h.releases.startRelease({ service: 'web', image: `web:5.0.1@${D}`, actor: { id: 'ecr', channel: 'ecr' } });
    expect(await followed).toMatchObject({ releaseId: pushed.id, exitCode: 0, outcome: 'succeeded' });
  });

  it('without waiting: exits 0 at once with the release id and its phase as it started', async () => {
    const result = await runCi({ api, service: 'web', image: `web:4.0.0@${digest('d')}`, wait: false, timeoutMs: 60_000, auth: { token: 't' } });
    expect(result.exitCode).toBe(0);
    const started = await h.store.get(result.releaseId!);
    expect(started?.service).toBe('web');
    expect(result.outcome).not.toBe('succeeded');
    expect(result.summary).toContain(`release \`${result.releaseId}\``);
    await h.finish(result.releaseId!);
  });

  it('a service the API does not know: exit 4, outcome refused, the API’s reason in the summary', async () => {
    const run = await step(['--service', 'nope', '--image', 'nope:1']);
    expect(run.code).toBe(4);
    expect(run.outputs['outcome']).toBe('refused');
    expect(run.summary).toContain('### ❌ nope: the release step failed');
    expect(run.err).toContain('POST /releases answered 4');
  });
});

describe('switchyard ci: bad input and a release that outlasts the timeout (a stand-in API)', () => {
  let requests = 0;
  const authorizations = new Set<string>();
  let standIn: Server;
  let standInApi: string;
  // A canary release baking at 10%, as the API's view: contract-valid, and it never ends.
  const deployed = markDeployed(evolve(release(canary, { id: 'r-baking-1' }), T0, { phase: 'deploying' }), T0 + 1000);
  const shifted = evolve(markShifted(evolve(deployed, T0 + 2000, { phase: 'shifting' }), 10, 1, T0 + 2000), T0 + 2000, { phase: 'baking' });
  const baking = ReleaseViewSchema.parse(toReleaseView(shifted, { now: T0 + 60_000 }));
  beforeAll(async () => {
    standIn = createServer((req, res) => {
      requests++;
      authorizations.add(req.headers.authorization ?? '');
      req.resume();
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(baking));
    });
    await new Promise<void>((r) => standIn.listen(0, '127.0.0.1', r));
    standInApi = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => standIn.close(r)));

  it('times out: exit 3, outcome timed_out, the release id, and the summary of where it stands', async () => {
    // A JWT (the JWT authorizer) instead of the token, and --json: the result alone on stdout.
    const run = await step(['--service', 'checkout-api', '--image', 'checkout-api:1.8.2', '--timeout', '1s', '--interval', '0.1s', '--json'], {
      SWITCHYARD_API: standInApi,
      SWITCHYARD_TOKEN: '',
      SWITCHYARD_JWT: 'eyJhbGciOi.jwt.sig',
    });
    expect(run.code, run.err).toBe(3);
    expect(JSON.parse(run.out)).toEqual({ releaseId: 'r-baking-1', outcome: 'timed_out', exitCode: 3 });
    expect([...authorizations]).toEqual(['Bearer eyJhbGciOi.jwt.sig']);
    expect(run.outputs).toEqual({ 'release-id': 'r-baking-1', outcome: 'timed_out' });
    expect(run.summary).toContain('### ⏳ checkout-api: release `r-baking-1` baking');
    expect(run.summary).toContain('| traffic | 10% new, 90% stable |');
    expect(run.summary).toContain('- [x] 10%\n- [ ] **bake 5m** (current)\n- [ ] 100%');
    expect(run.summary).toContain('bake 5m ends at 2026-01-01 00:05:02 (in 4m 2s).');
    expect(run.summary).toContain('**Timed out** waiting for the release');
  });

  it('credentials expiring mid-wait (403): exit 5, outcome unknown, the release id kept, the API’s message and how to follow it', async () => {
    let gets = 0;
    const expiring = createServer((req, res) => {
      req.resume();
      if (req.method === 'GET' && ++gets > 2) {
        res.writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': 'ExpiredTokenException' });
        return res.end('{"message":"The security token included in the request is expired"}');
      }
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(baking));
    });
    await new Promise<void>((r) => expiring.listen(0, '127.0.0.1', r));
    try {
      const run = await step(['--service', 'checkout-api', '--image', 'checkout-api:1.8.2', '--timeout', '2h', '--interval', '0.05s'], {
        SWITCHYARD_API: `http://127.0.0.1:${(expiring.address() as AddressInfo).port}`,
      });
      expect(run.code, run.err).toBe(5);
      expect(run.outputs).toEqual({ 'release-id': 'r-baking-1', outcome: 'unknown' });
      expect(run.summary).toContain('release `r-baking-1` goes on, its outcome unknown');
      expect(run.summary).toContain('The security token included in the request is expired');
      expect(run.summary).toContain('switchyard get r-baking-1 --watch');
      expect(run.summary).not.toContain('the release step failed');
    } finally {
      await new Promise((r) => expiring.close(r));
    }
  });

  it('bad input: exit 2, the message naming the input, nothing sent, no output written', async () => {
    const before = requests;
    const run = await step(['--service', 'web', '--image', 'web:1', '--wait', 'yes'], { SWITCHYARD_API: standInApi });
    expect(run.code).toBe(2);
    expect(run.err).toContain('--wait (the action\'s "wait" input) must be true or false, got "yes"');
    expect(requests).toBe(before);
    expect(run.outputs).toEqual({});
    expect(run.summary).toBe('');
  });
});

describe("the step's inputs, checked before anything is sent", () => {
  it.each([
    [{ image: 'web:1' }, '--service (the action\'s "service" input) is required'],
    [{ service: 'web' }, 'give --image (the action\'s "image" input) to start a release of an image, or --digest'],
    [{ service: 'web', image: 'web:1', digest: digest('a') }, 'not both'],
    [{ service: 'web', digest: 'sha256:abc' }, '--digest (the action\'s "digest" input) must be sha256:<64 lowercase hex>'],
    [{ service: 'web', image: 'web:1', wait: 'yes' }, '--wait (the action\'s "wait" input) must be true or false, got "yes"'],
    [{ service: 'web', digest: digest('a'), wait: 'false' }, 'needs --wait (the action\'s "wait" input) true'],
    [{ service: 'web', image: 'web:1', timeout: 'soon' }, '--timeout (the action\'s "timeout" input) must be a duration such as "30m"'],
    [{ service: 'web', image: 'web:1', timeout: '0s' }, 'must be a duration'],
    [{ service: 'web', digest: digest('a'), since: 'yesterday' }, '--since must be an ISO 8601 time'],
  ])('%j is refused: %s', (raw, message) => {
    expect(ciInputs(raw)).toEqual(expect.stringContaining(message));
  });

  it("the action's defaults: wait, an hour, asking every 5 s", () => {
    expect(ciInputs({ service: 'web', image: 'web:1' })).toEqual({ service: 'web', image: 'web:1', wait: true, timeoutMs: 3_600_000, pollMs: 5000 });
    expect(ciInputs({ service: 'web', digest: digest('a'), wait: 'true', timeout: '2h' })).toMatchObject({ digest: digest('a'), timeoutMs: 7_200_000 });
  });
});

describe('the $GITHUB_OUTPUT format', () => {
  it('writes each value between delimiters it does not contain, so no value can set another output', () => {
    const text = githubOutputs({ 'release-id': 'r-1', outcome: 'succeeded\nrelease-id=r-evil' });
    expect(parseOutputs(text)).toEqual({ 'release-id': 'r-1', outcome: 'succeeded\nrelease-id=r-evil' });
  });
});

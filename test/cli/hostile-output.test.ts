import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalMode, type LocalMode } from '../../src/composition/local-mode.js';
import { resolveConfig } from '../../src/config/config.js';
import { demoTarget } from '../support/demo.js';
import { releaseUntil } from '../support/poll.js';

/**
 * A version that writes escape sequences in every log line (test/fixtures/processes/hostile-version.mjs),
 * read back through the real CLI process, as a person's terminal would receive it: `switchyard logs`
 * and the error lines of `switchyard get` (the approval's evidence) carry the version's text, never a
 * control function, and every such line is labelled as the version's.
 */
let mode: LocalMode;
let api: string;

const ESC = '\u001b';
/** What the API lets through in a comment (it refuses C0 but for TAB, LF and CR): 8-bit CSI and OSC, CR, LF. */
const HOSTILE_COMMENT = 'ok \u009b2J\u009d0;pwned\u009c\rrelease succeeded\nfake line \u009b31mred';

beforeAll(async () => {
  mode = await startLocalMode({
    config: resolveConfig({
      services: [
        {
          name: 'shop',
          target: demoTarget({ command: ['node', 'test/fixtures/processes/hostile-version.mjs'] }),
          strategy: { type: 'canary', steps: [{ percent: 20, bake: '1s' }], finalBake: '1s' },
          gates: { metrics: [], checkInterval: '60s' },
          approvals: { at: ['after-first-step'], timeout: '10m' },
        },
      ],
    }),
    port: 0,
    inMemory: true,
    ephemeralPorts: true,
    token: 'cli-token',
  });
  api = mode.apiUrl;
}, 60_000);
afterAll(async () => mode.stop());

/** Runs the CLI as a person does; returns the exact bytes written to stdout and stderr. */
function cli(args: string[]): Promise<{ code: number | null; out: Buffer; err: Buffer }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/switchyard.js', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SWITCHYARD_API: api, SWITCHYARD_TOKEN: 'cli-token', NO_COLOR: '1' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('exit', (code) => resolve({ code, out: Buffer.concat(out), err: Buffer.concat(err) }));
  });
}

/** Every control a terminal acts on, as bytes and as decoded text: ESC, other C0 but LF, DEL, C1 (U+0080-U+009F). */
function controlsIn(bytes: Buffer): string[] {
  const found: string[] = [];
  for (const b of bytes) if ((b < 0x20 && b !== 0x0a) || b === 0x7f) found.push(`byte 0x${b.toString(16)}`);
  for (const c of bytes.toString('utf8')) if (/[\u0080-\u009f\u202a-\u202e\u2066-\u2069]/.test(c)) found.push(`U+${c.codePointAt(0)!.toString(16)}`);
  return found;
}

describe('a version cannot write to the terminal of whoever reads its output', () => {
  it('logs, get (approval evidence and comments) and logs --json reach the terminal with no control character, labelled as the version’s', async () => {
    const started = await cli(['release', 'shop', 'v2', '--json']);
    expect(started.code, started.err.toString()).toBe(0);
    const { id } = JSON.parse(started.out.toString()) as { id: string };
    await releaseUntil(mode.runtime.deps.store, id, (r) => r.phase === 'awaiting_approval' && (r.recentErrors?.length ?? 0) > 0, { timeoutMs: 20_000 });

    // switchyard logs: each of the version's lines, stripped, after its time and "v2#0 │".
    const logs = await cli(['logs', id]);
    expect(logs.code, logs.err.toString()).toBe(0);
    expect(controlsIn(logs.out)).toEqual([]);
    expect(controlsIn(logs.err)).toEqual([]);
    const logText = logs.out.toString('utf8');
    const lines = logText.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\S+ v2#0 │ /);
    expect(logText).toMatch(/v2#0 │ error: disk full release succeeded\n/);
    expect(logText).toContain('v2#0 │ error: retitle  link Switchyard SSO\n');
    expect(logText).toContain('gnp.exe 日本語 🚀 done');
    expect(logText).not.toContain('evil.example');
    expect(logText).not.toContain('all green');

    // logs --json: the same lines, exactly as written (the JSON parses to them), with no raw control.
    const json = await cli(['logs', id, '--json']);
    expect(controlsIn(json.out)).toEqual([]);
    const messages = json.out
      .toString()
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { message: string }).message);
    expect(messages).toContain(`error: c1 \u009b2J\u009d0;title\u009c ${ESC}c ${ESC}P+q${ESC}\\ \u202egnp.exe\u202c 日本語 🚀 done`);

    // switchyard get: the approval's error lines, each labelled as the new version's.
    const got = await cli(['get', id]);
    expect(got.code, got.err.toString()).toBe(0);
    expect(controlsIn(got.out)).toEqual([]);
    const errorLines = got.out
      .toString()
      .split('\n')
      .filter((l) => l.startsWith('error '));
    expect(errorLines.length).toBeGreaterThan(0);
    for (const line of errorLines) expect(line).toMatch(/^error {4}\S+ \S+ new version( \[[^\]]*\])? │ error: /);
    expect(got.out.toString()).toMatch(/new version( \[[^\]]*\])? │ error: disk full release succeeded\n/);

    // A comment a token holder wrote: stripped, and its line break shown, not obeyed.
    const rolled = await cli(['rollback', id, '-m', HOSTILE_COMMENT]);
    expect(rolled.code, rolled.err.toString()).toBe(0);
    expect(controlsIn(rolled.out)).toEqual([]);
    await releaseUntil(mode.runtime.deps.store, id, (r) => r.phase === 'rolled_back', { timeoutMs: 20_000 });
    const after = await cli(['get', id]);
    expect(controlsIn(after.out)).toEqual([]);
    expect(after.out.toString()).toContain(': "ok release succeeded↵fake line red"');
    expect(
      after.out
        .toString()
        .split('\n')
        .filter((l) => l.startsWith('fake line')),
    ).toEqual([]);
    const watched = await cli(['get', id, '--watch']);
    expect(controlsIn(watched.out)).toEqual([]);
    expect(watched.out.toString()).toContain(': "ok release succeeded↵fake line red"');
  }, 90_000);
});

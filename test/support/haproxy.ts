import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { findHaproxy, haproxyVersion } from '../../src/adapters/local/haproxy-router.js';
import { HaproxyAdmin } from '../../src/adapters/local/haproxy-admin.js';
import { PRODUCTION_BACKEND } from '../../src/adapters/local/haproxy-config.js';
import type { Router, RouterOptions } from '../../src/adapters/local/router.js';
import { createRouter } from '../../src/adapters/local/routers.js';
import { freePort } from '../../src/adapters/local/processes.js';
import { eventually } from './poll.js';

const binary = findHaproxy();
const version = binary ? haproxyVersion(binary) : undefined;

/** Why the HAProxy suites cannot run here, or undefined when they can: only a missing (or too old) HAProxy. */
export const haproxyMissing: string | undefined = !binary
  ? 'HAProxy is not installed (apt-get install haproxy; .ci/run installs it when run as root)'
  : version && 'problem' in version
    ? version.problem
    : undefined;

/** `describe`, or `describe.skip` with the reason printed once, when this machine has no HAProxy 2.6+. */
export function describeWithHaproxy(name: string, body: () => void): void {
  if (haproxyMissing) {
    process.stderr.write(`skipping "${name}": ${haproxyMissing}\n`);
    describe.skip(`${name} (skipped: ${haproxyMissing})`, body);
  } else describe(name, body);
}

/**
 * The production split as HAProxy itself applies it, read from its runtime API (`show stat`), never from
 * Switchyard: percent per replica port, from the weights of the servers that take new requests.
 */
export async function liveShares(adminSocket: string): Promise<Map<number, number>> {
  const stats = await new HaproxyAdmin(adminSocket).serverStats();
  const serving = stats.filter((s) => s.backend === PRODUCTION_BACKEND && s.status === 'UP');
  const total = serving.reduce((n, s) => n + s.weight, 0);
  const out = new Map<number, number>();
  for (const s of serving) if (total > 0) out.set(Number(s.address.split(':').pop()), (100 * s.weight) / total);
  return out;
}

/**
 * The data planes a router-level suite runs on: the built-in proxy always, HAProxy when installed (a missing
 * one is said once, by name). Metrics from HAProxy arrive with its next counter read (within a second), so
 * suites read them with `eventually`.
 */
export function routersUnderTest(): [string, (options: Omit<RouterOptions, 'readinessPath'> & { readinessPath?: string }) => Router][] {
  const builtin: [string, (options: Omit<RouterOptions, 'readinessPath'>) => Router] = [
    'the built-in proxy',
    (options) => createRouter(undefined, { readinessPath: '/ready', ...options }),
  ];
  if (haproxyMissing) {
    process.stderr.write(`skipping the HAProxy runs of this suite: ${haproxyMissing}\n`);
    return [builtin];
  }
  return [builtin, ['HAProxy', (options) => createRouter({ type: 'haproxy', binary: 'haproxy' }, { readinessPath: '/ready', ...options })]];
}

/** Whether HAProxy can be run in a pid namespace of its own here (unshare(1), as root). */
export const pidNamespaces: boolean = spawnSync('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', 'true'], { timeout: 5000 }).status === 0;

/** A site's own HAProxy, started by a test from a configuration as a user writes it (not by Switchyard). */
export interface SiteHaproxy {
  readonly adminSocket: string;
  readonly port: number;
  readonly testPort: number;
  /** Its pid now (another after `restart`). */
  readonly pid: number;
  /** The configuration it runs, as written. */
  readonly config: string;
  /** Stops it and starts it again from its configuration (as a site's restart does: runtime changes are gone). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts HAProxy from `config`: `{port}`, `{testPort}` and `{socket}` in the text are replaced by free
 * ports and an admin socket in a folder of its own. Resolves once the admin socket answers.
 */
export async function startSiteHaproxy(config: string, { pidNamespace = false }: { pidNamespace?: boolean } = {}): Promise<SiteHaproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-site-haproxy-'));
  const [port, testPort] = [await freePort(), await freePort()];
  const adminSocket = join(dir, 'admin.sock');
  const text = config.replaceAll('{port}', String(port)).replaceAll('{testPort}', String(testPort)).replaceAll('{socket}', adminSocket);
  writeFileSync(join(dir, 'haproxy.cfg'), text);
  const admin = new HaproxyAdmin(adminSocket);
  const launch = async () => {
    const args = ['-db', '-f', join(dir, 'haproxy.cfg')];
    // In a pid namespace of its own, as in a container: HAProxy is pid 1 there, after every restart.
    const child = pidNamespace
      ? spawn('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', binary ?? 'haproxy', ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(binary ?? 'haproxy', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    child.stderr.on('data', (d: Buffer) => (said += d.toString()));
    const up = await eventually(
      async () => child.exitCode === null && (await admin.answers(500)) && (await admin.pid()) === (pidNamespace ? 1 : child.pid),
      (ok) => ok || child.exitCode !== null,
      { timeoutMs: 10_000, intervalMs: 25 },
    );
    if (!up) throw new Error(`HAProxy did not start: ${said}`);
    return child;
  };
  const stop = async (child: ChildProcess) => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    // A pid namespace's first process ignores SIGTERM from outside: unshare is killed, and HAProxy with it.
    child.kill(pidNamespace ? 'SIGKILL' : 'SIGTERM');
    await exited;
    if (pidNamespace)
      await eventually(
        () => admin.answers(200),
        (answers) => !answers,
        { timeoutMs: 10_000, intervalMs: 25 },
      );
  };
  let child = await launch();
  return {
    adminSocket,
    port,
    testPort,
    get pid() {
      return child.pid ?? 0;
    },
    config: text,
    restart: async () => {
      await stop(child);
      child = await launch();
    },
    close: async () => {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

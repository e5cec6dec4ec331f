/**
 * Local mode's data plane, measured as the issue states its goals, with Switchyard started as a user
 * starts it (`switchyard local`, a process of its own) and the load from a third process:
 *  (a) isolation: a quiet service's p99 while another service's new version logs 100 MB, 6 reads of
 *      its logs, 500 event streams and 20 list calls run at once, against its idle p99 (goal: within
 *      1.5x, 0 timeouts);
 *  (b) survival: Switchyard killed with SIGKILL under 20 requests/s (goal: 0 failed requests over the
 *      following 30 s and after its restart), and a restart as systemd does it (SIGTERM with
 *      --keep-serving, then a new start).
 *
 *   npm run bench:data-plane          (BENCH_SECONDS=30 by default for (b); 10 for a quicker look)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../src/adapters/local/processes.js';

const SURVIVAL_SECONDS = Number(process.env['BENCH_SECONDS'] ?? 30);
const TOKEN = 'bench-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-dp-'));
const [quietPort, chattyPort] = [await freePort(), await freePort()];
const config = join(dir, 'switchyard.config.json');
const target = (port: number, command: string[]) => ({
  driver: 'local',
  command,
  replicas: 2,
  port,
  readiness: { path: '/', interval: 0, timeout: '10s' },
  drainTimeout: '2s',
});
writeFileSync(
  config,
  JSON.stringify({
    services: [
      { name: 'quiet', target: target(quietPort, ['node', 'examples/demo-service/server.mjs']), strategy: { type: 'blue-green' } },
      {
        name: 'chatty',
        target: { ...target(chattyPort, ['node', 'bench/support/chatty-service.mjs']), env: { LOG_MB: '50' } },
        strategy: { type: 'blue-green' },
        approvals: { at: ['before-finalize'], approvers: [], timeout: '1h', onTimeout: 'rollback' },
      },
    ],
  }),
);
const dataDir = join(dir, 'data');

interface Started {
  readonly child: ChildProcess;
  readonly api: string;
}

async function startSwitchyard(): Promise<Started> {
  const child = spawn(process.execPath, ['bin/switchyard.js', 'local', '--config', config, '--data-dir', dataDir, '--port', '0', '--keep-serving'], {
    env: { ...process.env, SWITCHYARD_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!out.includes('Ready.')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`switchyard did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const api = /API\s+(http:\/\/\S+)/.exec(out)?.[1];
  if (!api) throw new Error(`no API address in:\n${out}`);
  return { child, api };
}

interface LoadFigures {
  readonly sent: number;
  readonly failed: number;
  readonly timeouts: number;
  readonly p50: number;
  readonly p99: number;
}

/** Load from a process of its own, so neither Switchyard nor this script shares its event loop. */
function load(port: number, rps: number, seconds: number): Promise<LoadFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/support/load-worker.ts', `http://127.0.0.1:${port}/`, String(rps), String(seconds)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as LoadFigures);
      } catch {
        reject(new Error(`the load worker printed: ${out}`));
      }
    });
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };
const stopped = (child: ChildProcess) => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));

let sy = await startSwitchyard();
try {
  // (a) isolation
  const idle = await load(quietPort, 50, 10);
  const storm = load(quietPort, 50, 10);
  await new Promise((r) => setTimeout(r, 500));
  const started = (await (
    await fetch(`${sy.api}/releases`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'chatty', image: 'v2-chatty' }),
    })
  ).json()) as { id: string };
  /** Six reads of the chatty version's logs, 500 event streams and 20 list calls, at once. */
  const controlWork = async () => {
    const streams: AbortController[] = [];
    const streamAnswers = new Map<number, number>();
    for (let i = 0; i < 500; i++) {
      const controller = new AbortController();
      streams.push(controller);
      void fetch(`${sy.api}/releases/${started.id}/events`, { headers: auth, signal: controller.signal })
        .then((res) => {
          streamAnswers.set(res.status, (streamAnswers.get(res.status) ?? 0) + 1);
          if (res.status !== 200) return res.body?.cancel();
          return res.body?.pipeTo(new WritableStream()).catch(() => undefined);
        })
        .catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const reads = await Promise.all([
      ...Array.from({ length: 6 }, () => fetch(`${sy.api}/releases/${started.id}/logs?limit=500`, { headers: auth }).then((r) => r.status)),
      ...Array.from({ length: 20 }, () => fetch(`${sy.api}/releases?phase=awaiting_approval`, { headers: auth }).then((r) => r.status)),
    ]);
    return { streams, streamAnswers, reads };
  };
  const all = await controlWork();
  const during = await storm;
  for (const c of all.streams) c.abort();
  // The chatty version has written its logs by now: the control plane's work alone, against its 100 MB.
  const quietAgain = load(quietPort, 50, 10);
  await new Promise((r) => setTimeout(r, 500));
  const alone = await controlWork();
  const controlOnly = await quietAgain;
  for (const c of alone.streams) c.abort();
  const line = (name: string, f: LoadFigures) =>
    console.log(
      `  ${name.padEnd(28)} p50 ${f.p50.toFixed(1)}  p99 ${f.p99.toFixed(1)}  failed ${f.failed}  timeouts ${f.timeouts}  (p99 ${(f.p99 / idle.p99).toFixed(2)}x idle)`,
    );
  console.log('(a) isolation: the quiet service at 50 requests/s from its own load process, ms');
  line('idle', idle);
  line('everything at once', during);
  line('control-plane work only', controlOnly);
  console.log(
    `  everything: another service's version logging 50 MB x 2 replicas while 6 log reads, 500 event streams (answers: ${[...all.streamAnswers].map(([st, n]) => `${n}x${st}`).join(', ')}) and 20 list calls (answers: ${[...new Set(all.reads)].join(', ')}) run`,
  );
  console.log('  goal: within 1.5x of idle p99, 0 timeouts');

  // (b) survival
  const killed = load(quietPort, 20, SURVIVAL_SECONDS);
  await new Promise((r) => setTimeout(r, 1000));
  sy.child.kill('SIGKILL');
  const afterKill = await killed;
  const restarting = load(quietPort, 20, 10);
  sy = await startSwitchyard();
  const afterRestart = await restarting;
  const systemd = load(quietPort, 20, 10);
  await new Promise((r) => setTimeout(r, 1000));
  sy.child.kill('SIGTERM');
  await stopped(sy.child);
  sy = await startSwitchyard();
  const afterSystemd = await systemd;
  console.log('(b) survival: the quiet service at 20 requests/s');
  console.log(
    `  SIGKILL of Switchyard, the following ${SURVIVAL_SECONDS} s: ${afterKill.sent} requests, ${afterKill.failed} failed, p99 ${afterKill.p99.toFixed(1)} ms`,
  );
  console.log(`  its restart (re-attach), 10 s:        ${afterRestart.sent} requests, ${afterRestart.failed} failed, p99 ${afterRestart.p99.toFixed(1)} ms`);
  console.log(`  SIGTERM + start (systemctl restart):  ${afterSystemd.sent} requests, ${afterSystemd.failed} failed, p99 ${afterSystemd.p99.toFixed(1)} ms`);
} finally {
  sy.child.kill('SIGINT');
  await stopped(sy.child);
  rmSync(dir, { recursive: true, force: true });
}

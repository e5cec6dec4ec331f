/**
 * The proxy beside its peers: requests per second and CPU per request through Switchyard's proxy, through
 * the floor of its runtime (a bare node:http + undici pass-through, bench/support/bare-proxy.ts), through
 * nginx and through haproxy, all in front of the same backend and measured in one run, printed as ratios
 * (machines are noisy; ratios measured side by side are what compares).
 *
 * The load comes from `wrk` (Debian's package): a Node load generator saturates before the proxies do, so
 * its requests/s say more about itself than about them. Each of wrk, nginx and haproxy that is not
 * installed is named and left out (without wrk, a Node load generator stands in and the output says so):
 *
 *   apt-get update && apt-get install -y wrk nginx haproxy
 *   npm run bench:proxy
 *
 * BENCH_SECONDS (default 5) and BENCH_ROUNDS (default 5) set the length of one measurement and how many
 * rounds run. The targets take turns within a round, in reverse order every other round; each ratio is taken
 * within a round (paired) and the median across rounds printed, so the load of a shared machine, which
 * drifts over a run, weighs on both sides of a ratio alike.
 *
 * PROXY_PROFILE=<dir> writes a V8 CPU profile of Switchyard's proxy process there (summarise it with
 * `npx tsx bench/support/profile-summary.ts <file>`; the profile of the main thread is the one numbered 0);
 * BENCH_ONLY=<text> measures only the targets whose name contains it, e.g. when profiling:
 *
 *   PROXY_PROFILE=/tmp/prof BENCH_ONLY=Switchyard BENCH_SECONDS=20 BENCH_ROUNDS=1 npm run bench:proxy
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { haproxyConfig } from '../src/adapters/local/haproxy-config.js';
import { freePort } from '../src/adapters/local/processes.js';

const CONNECTIONS = 16;
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface Target {
  readonly name: string;
  readonly port: number;
  /** The processes whose CPU is the target's own (not the backend's, which is the same for every target). */
  readonly pids: () => number[];
}

interface Load {
  readonly requests: number;
  /** Answers other than 2xx/3xx plus socket errors: a target failing fast must not look cheap. */
  readonly failures: number;
  /** What the failures were, as wrk says it (its non-2xx and socket-error lines), empty without any. */
  readonly failed?: string;
  /** Median latency as wrk reports it (NaN without wrk). */
  readonly p50Ms: number;
}

interface Sample {
  readonly rps: number;
  readonly p50Ms: number;
  readonly cpuPerRequestUs: number;
  readonly failures: number;
}

const installed = (command: string): boolean => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
const hasWrk = installed('wrk');
const hasNginx = installed('nginx');
const hasHaproxy = installed('haproxy');

/** utime + stime of a process and its waited-for children, in seconds (Linux /proc). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
}

async function waitFor(port: number, path = '/ready'): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answered on port ${port}`);
}

/** wrk: one thread, CONNECTIONS keep-alive connections, GET / back to back for `seconds`. */
function wrkLoad(port: number, seconds: number): Promise<Load> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const requests = /(\d+) requests in/.exec(out);
      if (!requests) return reject(new Error(`wrk printed no request count:\n${out}`));
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const socketErrors = socket ? socket.slice(1).reduce((n, v) => n + Number(v), 0) : 0;
      const p50 = /^\s*50%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
      const p50Ms = p50 ? Number(p50[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[p50[2]!]! : Number.NaN;
      const failed = [socket?.[0], non2xx > 0 ? `Non-2xx or 3xx responses: ${non2xx}` : undefined].filter((line) => line !== undefined);
      resolve({ requests: Number(requests[1]), failures: non2xx + socketErrors, failed: failed.join('; '), p50Ms });
    });
  });
}

/** The stand-in without wrk: CONNECTIONS keep-alive clients in this process sending GET / back to back. */
async function nodeLoad(port: number, seconds: number): Promise<Load> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const end = Date.now() + seconds * 1000;
  let requests = 0;
  let failures = 0;
  const client = async () => {
    while (Date.now() < end) {
      await new Promise<void>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          res.resume();
          res.on('end', () => {
            requests++;
            if ((res.statusCode ?? 0) >= 400) failures++;
            resolve();
          });
        });
        req.on('error', () => {
          failures++;
          resolve();
        });
        req.end();
      });
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, client));
  agent.destroy();
  return { requests, failures, p50Ms: Number.NaN };
}

const load = hasWrk ? wrkLoad : nodeLoad;

async function measure(target: Target): Promise<Sample> {
  const pids = target.pids();
  const before = pids.map(cpuSeconds);
  const { requests, failures, failed, p50Ms } = await load(target.port, SECONDS);
  const cpu = pids.map(cpuSeconds).reduce((sum, c, i) => sum + c - (before[i] ?? 0), 0);
  if (failures > 0) console.log(`${target.name}: ${failures} failed in one measurement (${failed || 'answered 4xx/5xx or dropped'})`);
  return { rps: requests / SECONDS, p50Ms, cpuPerRequestUs: requests === 0 ? Number.NaN : (cpu / requests) * 1e6, failures };
}

const children: ChildProcess[] = [];
const tempDirs: string[] = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGTERM');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A Node child that prints its port on its first line of output (the proxy children of bench/support). */
async function nodeChild(script: string, args: string[], nodeOptions: string[] = []): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...nodeOptions, '--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const port = Number(await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)));
  return { child, port };
}

const backendPort = await freePort();
const backend = spawn(process.execPath, ['examples/demo-service/server.mjs'], {
  env: { PATH: process.env['PATH'] ?? '', PORT: String(backendPort), VERSION: 'v1', STARTUP_MS: '0' },
  stdio: 'ignore',
});
children.push(backend);
await waitFor(backendPort);

const targets: Target[] = [{ name: 'direct to the backend', port: backendPort, pids: () => [backend.pid ?? 0] }];

const floor = await nodeChild('bench/support/bare-proxy.ts', [String(backendPort)]);
targets.push({ name: 'floor: bare node:http + undici', port: floor.port, pids: () => [floor.child.pid ?? 0] });

const profileDir = process.env['PROXY_PROFILE'];
const switchyard = await nodeChild('bench/support/proxy-child.ts', [String(backendPort)], profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
targets.push({ name: 'Switchyard’s proxy', port: switchyard.port, pids: () => [switchyard.child.pid ?? 0] });

/** The pids of a master process and its workers (nginx, haproxy in master-worker mode). */
const withWorkers = (pid: number) => () => [
  pid,
  ...spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .filter(Boolean)
    .map(Number),
];

if (hasNginx) {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-nginx-'));
  tempDirs.push(dir);
  const port = await freePort();
  // One worker, as each Node proxy here is one process; upstream keep-alive, as Switchyard's pool.
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log; events { worker_connections 1024; }
http { access_log off; upstream b { server 127.0.0.1:${backendPort}; keepalive 32; }
  server { listen 127.0.0.1:${port}; location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; } } }`,
  );
  const nginx = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir, '-g', 'daemon off;'], { stdio: 'ignore' });
  children.push(nginx);
  await waitFor(port);
  targets.push({ name: 'nginx', port, pids: withWorkers(nginx.pid ?? 0) });
}

if (hasHaproxy) {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-haproxy-'));
  tempDirs.push(dir);
  const port = await freePort();
  // One thread; connections to the backend kept alive and shared (http-reuse always), as nginx's and ours are.
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    `global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend f
  bind 127.0.0.1:${port}
  default_backend b
backend b
  server s1 127.0.0.1:${backendPort}
`,
  );
  // In a session of its own, as the data plane starts HAProxy (detached): with the kernel's autogroup
  // scheduling (on in most distributions), CPU is shared per session first, so an HAProxy in the bench's
  // session and one in its own are not served alike on a busy machine (measured: 0.55-0.85x for the latter).
  const haproxy = spawn('haproxy', ['-f', join(dir, 'haproxy.cfg'), '-db'], { stdio: 'ignore', detached: true });
  children.push(haproxy);
  await waitFor(port);
  targets.push({ name: 'haproxy', port, pids: withWorkers(haproxy.pid ?? 0) });

  // Switchyard's configuration written by hand, the replica in its first slot, no Switchyard beside it:
  // the driven HAProxy's ratio to this one is what driving costs (the log reader, the counter reads),
  // its ratio to the one above what the configuration costs (retries, headers, logging).
  const samePort = await freePort();
  const sameText = haproxyConfig({
    service: 'bench',
    adminSocket: join(dir, 'same.sock'),
    productionPort: samePort,
    upstreamTimeoutMs: 60_000,
    threads: 1,
  }).replace(
    /^ {2}server-template slot 1-(\d+) (.*)$/m,
    (_line, n: string, rest: string) => `  server slot1 127.0.0.1:${backendPort} weight 256\n  server-template slot 2-${n} ${rest}`,
  );
  writeFileSync(join(dir, 'same.cfg'), sameText);
  const same = spawn('haproxy', ['-f', join(dir, 'same.cfg'), '-db'], { stdio: 'ignore', detached: true });
  children.push(same);
  await waitFor(samePort);
  targets.push({ name: 'haproxy, Switchyard’s config by hand', port: samePort, pids: withWorkers(same.pid ?? 0) });

  // The same HAProxy as Switchyard's data plane: configured once by Switchyard, the backend added through
  // the runtime API, every request logged to the ring Switchyard follows, counters read every second,
  // health checks on; at rest, and with the split changing every second as during a release.
  for (const [name, mode] of [
    ['haproxy driven by Switchyard', 'rest'],
    ['haproxy by Switchyard, releasing', 'release'],
  ] as const) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/support/haproxy-child.ts', String(backendPort), mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const [childPort, haproxyPid] = (await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)))
      .split(' ')
      .map(Number);
    await waitFor(childPort!);
    // Its CPU: HAProxy's and the router's (the log reader and the counter reads are part of the price).
    targets.push({ name, port: childPort!, pids: () => [haproxyPid ?? 0, child.pid ?? 0] });
  }
}

const loadAtStart = loadavg()[0]!;
const only = process.env['BENCH_ONLY'];
if (only) targets.splice(0, targets.length, ...targets.filter((t) => t.name.includes(only) || t.name.startsWith('floor')));
for (const target of targets) await load(target.port, 1); // warm up: JIT, pools, connections
const samples = new Map<Target, Sample[]>(targets.map((t) => [t, []]));
// Every other round runs the targets in reverse order, so a machine growing busier or quieter during a round
// weighs on every target alike.
for (let round = 0; round < ROUNDS; round++) {
  for (const target of round % 2 === 0 ? targets : [...targets].reverse()) samples.get(target)!.push(await measure(target));
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const floorTarget = targets.find((t) => t.name === 'floor: bare node:http + undici')!;
const nginxTarget = targets.find((t) => t.name === 'nginx');
/** Ratios are taken within each round (the two measured moments apart), then their median across rounds. */
const ratios = (t: Target, to: Target, of: (s: Sample) => number): number[] => samples.get(t)!.map((s, round) => of(s) / of(samples.get(to)![round]!));
const rows = targets.map((t) => {
  const s = samples.get(t)!;
  return {
    name: t.name,
    rps: median(s.map((x) => x.rps)),
    cpu: median(s.map((x) => x.cpuPerRequestUs)),
    vsFloorCpu: ratios(t, floorTarget, (x) => x.cpuPerRequestUs),
    vsNginxRps: nginxTarget ? median(ratios(t, nginxTarget, (x) => x.rps)) : Number.NaN,
    vsNginxCpu: nginxTarget ? median(ratios(t, nginxTarget, (x) => x.cpuPerRequestUs)) : Number.NaN,
    failures: s.reduce((n, x) => n + x.failures, 0),
  };
});
const ours = rows.find((r) => r.name === 'Switchyard’s proxy');

const missing = [!hasWrk && 'wrk', !hasNginx && 'nginx', !hasHaproxy && 'haproxy'].filter(Boolean);
console.log(`machine load (1-minute average, ${cpus().length} CPUs): ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end`);
console.log(
  `${hasWrk ? 'wrk -t1' : 'a Node load generator (wrk is not installed)'}, ${CONNECTIONS} keep-alive connections, GET /, one backend (the demo service); ` +
    `${ROUNDS} rounds of ${SECONDS} s per target; figures are medians across rounds, ratios taken within each round; CPU is the target's processes only`,
);
const fixed = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
console.log(
  `${'target'.padEnd(32)} ${'requests/s'.padStart(10)} ${'CPU/request'.padStart(12)}  ${'vs. nginx: requests/s, CPU'.padEnd(26)} vs. floor: CPU  failures`,
);
for (const r of rows) {
  const vsNginx = nginxTarget ? `${fixed(r.vsNginxRps)}x, ${fixed(r.vsNginxCpu)}x` : '-';
  console.log(
    `${r.name.padEnd(32)} ${r.rps.toFixed(0).padStart(10)} ${`${fixed(r.cpu, 1)} µs`.padStart(12)}  ${vsNginx.padEnd(26)} ${(r.name === 'direct to the backend' ? '-' : `${fixed(median(r.vsFloorCpu))}x`).padEnd(14)} ${r.failures}`,
  );
}
if (ours) {
  const spread = [...ours.vsFloorCpu].sort((a, b) => a - b);
  console.log(
    `Switchyard’s proxy spends ${fixed(median(ours.vsFloorCpu))}x the floor's CPU per request (rounds: ${spread.map((v) => fixed(v)).join(', ')}; goal: at most 1.15x, what our own code adds)`,
  );
}
const byHand = targets.find((t) => t.name === 'haproxy');
const sameByHand = targets.find((t) => t.name === 'haproxy, Switchyard’s config by hand');
for (const driven of targets.filter((t) => t.name === 'haproxy driven by Switchyard' || t.name === 'haproxy by Switchyard, releasing')) {
  if (!byHand) break;
  const rps = median(ratios(driven, byHand, (x) => x.rps));
  const p50 = median(ratios(driven, byHand, (x) => x.p50Ms));
  console.log(
    `HAProxy driven by Switchyard${driven.name.includes('releasing') ? ', during a release (split changing every second)' : ', at rest'}: ${fixed(rps)}x the requests/s of the same HAProxy configured by hand, p50 latency ${fixed(p50)}x (goal: at least 0.9x, p50 within 1.10x)`,
  );
  if (sameByHand)
    console.log(
      `  ... ${fixed(median(ratios(driven, sameByHand, (x) => x.rps)))}x the requests/s of Switchyard's configuration by hand (what driving costs), p50 ${fixed(median(ratios(driven, sameByHand, (x) => x.p50Ms)))}x; that configuration alone: ${fixed(median(ratios(sameByHand, byHand, (x) => x.rps)))}x, p50 ${fixed(median(ratios(sameByHand, byHand, (x) => x.p50Ms)))}x`,
    );
}
if (missing.length > 0) console.log(`not installed, left out: ${missing.join(', ')} (apt-get install -y wrk nginx haproxy)`);
if (rows.some((r) => r.failures > 0)) console.log('some targets answered errors or dropped connections: their figures are not comparable');
process.exit(0);

/**
 * The proxy beside its peers: requests per second and CPU per request through Switchyard's proxy,
 * through nginx when it is installed (Debian's `nginx` package), and straight to the backend (the
 * reference), measured in one run with the same load, printed as ratios.
 *
 *   npm run bench:proxy
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../src/adapters/local/processes.js';

const CONNECTIONS = 16;
const SECONDS = 5;
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of a process and its children, in seconds (Linux /proc). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
}

async function waitFor(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/ready' }, (res) => {
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

/** CONNECTIONS keep-alive clients sending GET / back to back for SECONDS; returns requests completed. */
async function load(port: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const end = Date.now() + SECONDS * 1000;
  let done = 0;
  const client = async () => {
    while (Date.now() < end) {
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          res.resume();
          res.on('end', () => {
            done++;
            resolve();
          });
        });
        req.on('error', reject);
        req.end();
      });
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, client));
  agent.destroy();
  return done;
}

async function measure(name: string, port: number, pids: number[]): Promise<{ name: string; rps: number; cpuPerRequestUs: number }> {
  await load(port); // warm up
  const before = pids.map(cpuSeconds);
  const requests = await load(port);
  const cpu = pids.map(cpuSeconds).reduce((sum, c, i) => sum + c - (before[i] ?? 0), 0);
  return { name, rps: requests / SECONDS, cpuPerRequestUs: (cpu / requests) * 1e6 };
}

const children: ChildProcess[] = [];
const backendPort = await freePort();
const backend = spawn(process.execPath, ['examples/demo-service/server.mjs'], {
  env: { PATH: process.env['PATH'] ?? '', PORT: String(backendPort), VERSION: 'v1', STARTUP_MS: '0' },
  stdio: 'ignore',
});
children.push(backend);
await waitFor(backendPort);

// PROXY_PROFILE=<dir> writes a V8 CPU profile of the proxy process there (summarise it with
// `npx tsx bench/support/profile-summary.ts <file>`); PROXY_CHILD=<file> measures another proxy (bench/support/bare-proxy.ts).
const profileDir = process.env['PROXY_PROFILE'];
const proxyChild = spawn(
  process.execPath,
  [
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    '--import',
    'tsx',
    process.env['PROXY_CHILD'] ?? 'bench/support/proxy-child.ts',
    String(backendPort),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
children.push(proxyChild);
const proxyPort = Number(await new Promise<string>((resolve) => createInterface({ input: proxyChild.stdout! }).once('line', resolve)));

const rows = [await measure('direct to the backend (reference)', backendPort, [backend.pid ?? 0])];
// The proxy's own CPU only: the backend's is the same in every row.
rows.push(await measure('through Switchyard’s proxy', proxyPort, [proxyChild.pid ?? 0]));

let nginxDir: string | undefined;
if (spawnSync('sh', ['-c', 'command -v nginx']).status === 0) {
  nginxDir = mkdtempSync(join(tmpdir(), 'switchyard-nginx-'));
  const nginxPort = await freePort();
  writeFileSync(
    join(nginxDir, 'nginx.conf'),
    `worker_processes 1; pid ${nginxDir}/nginx.pid; error_log ${nginxDir}/error.log; events { worker_connections 1024; }
http { access_log off; upstream b { server 127.0.0.1:${backendPort}; keepalive 32; }
  server { listen 127.0.0.1:${nginxPort}; location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; } } }`,
  );
  const nginx = spawn('nginx', ['-c', join(nginxDir, 'nginx.conf'), '-p', nginxDir, '-g', 'daemon off;'], { stdio: 'ignore' });
  children.push(nginx);
  await new Promise((r) => setTimeout(r, 500));
  const workers = spawnSync('pgrep', ['-P', String(nginx.pid)], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .filter(Boolean)
    .map(Number);
  rows.push(await measure('through nginx', nginxPort, [nginx.pid ?? 0, ...workers]));
}

for (const child of children) child.kill('SIGTERM');
if (nginxDir) rmSync(nginxDir, { recursive: true, force: true });

const [reference] = rows;
const nginxRow = rows.find((r) => r.name === 'through nginx');
console.log(`${CONNECTIONS} keep-alive connections, ${SECONDS} s each, one backend (the demo service), measured in one run`);
for (const r of rows) {
  const vsNginx = nginxRow ? `  ${(r.rps / nginxRow.rps).toFixed(2)}x nginx's requests/s` : '';
  console.log(
    `${r.name.padEnd(36)} ${r.rps.toFixed(0).padStart(7)} requests/s  ${r.cpuPerRequestUs.toFixed(0).padStart(5)} µs CPU per request  ${reference ? (r.rps / reference.rps).toFixed(2) : '-'}x direct${vsNginx}`,
  );
}
if (!nginxRow) console.log('(nginx is not installed: `apt-get install nginx` to compare with it; the direct backend is the reference)');

/**
 * Local mode's logs, before and after rotation and reading from the end:
 *  (a) reading: the last 500 lines, and an approval's error lines, of a 100 MB log (the findings had a
 *      never-rotated 143 MB one), read as log-reader.ts did before (the whole file, synchronously)
 *      and as it does now; how long each took, and how long it held the event loop in one go;
 *  (b) writing: a child printing ~60 MB of lines as fast as it can, through the old pipeline
 *      (readline, JSON.stringify per line, a WriteStream) and the new writer (log-writer.ts): CPU of
 *      Switchyard's process per MB, how late a 1 ms timer fired, and the latency of a quiet HTTP
 *      service answered by the same event loop (as the proxy's requests are), asked from another
 *      process every 2 ms (the findings: p99 29 ms → 1.48 s beside a chatty version).
 *
 *   npm run bench:logs
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { readVersionLogs } from '../src/adapters/local/log-reader.js';
import { errorIndexFile, ReplicaLogWriter } from '../src/adapters/local/log-writer.js';
import { percentile } from '../src/core/percentile.js';
import type { LogLine, LogQuery } from '../src/ports/logs.js';

const LOG_MB = 100;
const CHATTY_MB = 60;
const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0));

/** What log-reader.ts did before: every file read whole, every line parsed, then sorted and cut. */
function fullRead(logDir: string, query: LogQuery): LogLine[] {
  const dir = join(logDir, query.service);
  const needle = query.grep?.toLowerCase();
  const lines: LogLine[] = [];
  for (const file of readdirSync(dir)) {
    const match = /^.*-(\d+)-(\d+)\.log$/.exec(file);
    if (!match) continue;
    for (const raw of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (raw === '') continue;
      let parsed: Partial<LogLine>;
      try {
        parsed = JSON.parse(raw) as Partial<LogLine>;
      } catch {
        continue;
      }
      if (typeof parsed.time !== 'string' || typeof parsed.message !== 'string') continue;
      if (query.since !== undefined && parsed.time <= query.since) continue;
      if (needle !== undefined && !parsed.message.toLowerCase().includes(needle)) continue;
      const stream = parsed.stream === 'stderr' ? 'stderr' : 'stdout';
      lines.push({
        time: parsed.time,
        service: query.service,
        version: query.version,
        replica: Number(match[1]),
        pid: Number(match[2]),
        stream,
        message: parsed.message,
      });
    }
  }
  lines.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.replica - b.replica));
  return lines.slice(-(query.limit ?? 500));
}

/**
 * Wall time of `work`, and the longest a 1 ms timer waited meanwhile (what a request through the proxy
 * would wait). Plain lateness: on a busy machine it includes time the process was not scheduled.
 */
async function measured<T>(work: () => Promise<T> | T): Promise<{ ms: number; stallMs: number; result: T }> {
  let stallMs = 0;
  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last - 1);
    last = now;
  }, 1);
  const started = performance.now();
  const result = await work();
  const ms = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 5)); // the first tick after a blocking call sees it
  clearInterval(tick);
  return { ms, stallMs: Math.max(0, stallMs), result };
}

/**
 * A `megabytes` log written through the writer as one file (rotation off, as the findings' log was
 * never rotated), one error line in 5,000; the writer keeps its index of recent error lines beside it.
 */
async function bigLog(file: string, megabytes: number): Promise<void> {
  const writer = new ReplicaLogWriter({ file, service: 'shop', version: 'v1', pid: 7, maxFileBytes: Number.MAX_SAFE_INTEGER });
  const output = new PassThrough();
  writer.attach('stdout', output);
  const padding = 'p'.repeat(80);
  let i = 0;
  for (let written = 0; written < megabytes << 20;) {
    let block = '';
    while (block.length < 1 << 16) {
      block += i % 5000 === 0 ? `ERROR request ${i} failed\n` : `request ${i} handled ${padding}\n`;
      i++;
    }
    // The JSON lines are about twice the text.
    written += block.length * 2;
    if (!output.write(block)) await once(output, 'drain');
  }
  output.end();
  await writer.close();
}

/**
 * Sequential requests to the quiet service from another process (so its own timing is not on our
 * event loop), a request every 2 ms until stopped; then the latencies' p50 and p99.
 */
function quietClient(port: number): { stop: () => Promise<{ p50: number; p99: number; count: number }> } {
  const code = [
    `const http = require('node:http');`,
    `const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });`,
    `let stop = false; process.on('SIGTERM', () => (stop = true));`,
    `const lat = [];`,
    `const get = () => new Promise((ok, fail) => http.get({ host: '127.0.0.1', port: ${port}, agent }, (r) => { r.resume(); r.on('end', ok); }).on('error', fail));`,
    `(async () => { while (!stop) { const t = performance.now(); await get(); lat.push(performance.now() - t); await new Promise((r) => setTimeout(r, 2)); } console.log(JSON.stringify(lat)); process.exit(0); })();`,
  ].join('\n');
  const child = spawn('node', ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return {
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
      const latencies = (JSON.parse(out) as number[]).sort((a, b) => a - b);
      return { p50: percentile(latencies, 50) ?? 0, p99: percentile(latencies, 99) ?? 0, count: latencies.length };
    },
  };
}

const work = mkdtempSync(join(tmpdir(), 'switchyard-bench-logs-'));
try {
  console.log(`(a) reading a ${LOG_MB} MB log (one file, never rotated; written through the writer, with its index)`);
  const logDir = join(work, 'logs');
  const file = join(logDir, 'shop', 'v1-0-7.log');
  await bigLog(file, LOG_MB);
  console.log(`    the log: ${((await stat(file)).size / (1 << 20)).toFixed(0)} MB, its index ${(await stat(errorIndexFile(file))).size} bytes`);
  const last500 = { service: 'shop', version: 'v1', limit: 500 };
  const approval = { service: 'shop', version: 'v1', grep: 'error', limit: 5 };
  for (const [label, query, index] of [
    ['last 500 lines', last500, true],
    ["an approval's error lines, from the index", approval, true],
    ["an approval's error lines, no index (scan)", approval, false],
  ] as const) {
    if (!index) await rename(errorIndexFile(file), `${errorIndexFile(file)}.aside`);
    const before = await measured(() => fullRead(logDir, query));
    const after = await measured(() => readVersionLogs(logDir, query));
    const same = JSON.stringify(before.result) === JSON.stringify([...after.result]);
    console.log(
      `    ${label.padEnd(44)} full read ${fmt(before.ms).padStart(6)} ms (loop held ${fmt(before.stallMs)} ms)   from the end ${fmt(after.ms).padStart(5)} ms (loop held ${fmt(after.stallMs)} ms)   ${(before.ms / after.ms).toFixed(0)}x faster${same ? ', same lines' : ', LINES DIFFER'}`,
    );
  }

  console.log(`(b) a child printing ${CHATTY_MB} MB of 100-character lines as fast as it can, beside a quiet service in the same process`);
  // The quiet service: answered by Switchyard's own event loop, as the proxy's requests are.
  const quiet = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => quiet.listen(0, '127.0.0.1', resolve));
  const quietPort = (quiet.address() as AddressInfo).port;
  const script = `const b = ('x'.repeat(99) + '\\n').repeat(10000); for (let i = 0; i < ${CHATTY_MB}; i++) process.stdout.write(b);`;
  for (const pipeline of ['old', 'new'] as const) {
    const dir = join(work, `chatty-${pipeline}`);
    await mkdir(dir, { recursive: true });
    const client = quietClient(quietPort);
    const cpuBefore = process.cpuUsage();
    const run = await measured(async () => {
      const child = spawn('node', ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
      const file = join(dir, `v1-0-${child.pid}.log`);
      if (pipeline === 'old') {
        const out = createWriteStream(file, { flags: 'a' });
        const base = { service: 'shop', version: 'v1', pid: child.pid };
        createInterface({ input: child.stdout }).on('line', (message) =>
          out.write(`${JSON.stringify({ time: new Date().toISOString(), ...base, stream: 'stdout', message })}\n`),
        );
        await new Promise((resolve) => child.stdout.once('close', resolve));
        await new Promise((resolve) => out.end(resolve));
      } else {
        const writer = new ReplicaLogWriter({ file, service: 'shop', version: 'v1', pid: child.pid ?? 0 });
        writer.attach('stdout', child.stdout);
        await writer.close();
        return writer.dropped;
      }
      return 0;
    });
    const cpu = process.cpuUsage(cpuBefore);
    const latency = await client.stop();
    console.log(
      `    ${`${pipeline} pipeline`.padEnd(14)} ${fmt(run.ms).padStart(6)} ms   Switchyard CPU ${fmt((cpu.user + cpu.system) / 1000 / CHATTY_MB)} ms per MB   timer late by up to ${fmt(run.stallMs)} ms   quiet service p50 ${fmt(latency.p50)} ms, p99 ${fmt(latency.p99)} ms (${latency.count} requests)   ${run.result} lines dropped`,
    );
  }
  quiet.close();
} finally {
  rmSync(work, { recursive: true, force: true });
}

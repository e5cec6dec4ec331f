#!/usr/bin/env node
// The demo service Switchyard's local mode releases. Its behaviour follows its version string:
//   healthy by default; "faulty" answers 500 to about 30% of requests; "slow" adds 250 ms of
//   latency; "broken" never becomes ready. Subtle faults, which fixed thresholds miss and the canary
//   judge catches: "flaky" answers 500 to 2% of requests, "laggy" adds 30 ms. ERROR_RATE (default 0)
//   makes every version fail that share of requests at random, as real services do.
// It also shows the practices a progressive release relies on: /ready turns ready only after
// start-up work is done, and on SIGTERM it stops accepting, finishes in-flight requests, then exits.
import { createServer } from 'node:http';

const version = process.env.VERSION ?? 'v1';
const port = Number(process.env.PORT ?? 8080);
const faulty = version.includes('faulty');
const slow = version.includes('slow');
const broken = version.includes('broken');
const flaky = version.includes('flaky');
const laggy = version.includes('laggy');
const baseErrorRate = Number(process.env.ERROR_RATE ?? 0);
const startupMs = Number(process.env.STARTUP_MS ?? 300);

let ready = false;
let shuttingDown = false;
let requestCount = 0;

const server = createServer((req, res) => {
  if (shuttingDown) res.setHeader('connection', 'close');
  res.setHeader('x-version', version);
  if (req.url === '/ready' || req.url === '/healthz') {
    const ok = req.url === '/healthz' || (ready && !shuttingDown);
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ version, ready: ok }));
    return;
  }
  requestCount++;
  const respond = () => {
    // About 30% errors for a faulty version, spread evenly so small samples see them too.
    if ((faulty && requestCount % 10 < 3) || (flaky && requestCount % 50 === 0) || Math.random() < baseErrorRate) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ version, error: 'simulated failure' }));
      console.error(JSON.stringify({ level: 'error', message: `simulated failure on ${req.method} ${req.url}`, version }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ version, path: req.url }));
  };
  // Read (and discard) any request body before answering, as a real handler would.
  req.resume();
  req.on('end', () => (slow ? setTimeout(respond, 250) : laggy ? setTimeout(respond, 30) : respond()));
});

server.keepAliveTimeout = 5000;
server.listen(port, '127.0.0.1', () => {
  // Start-up work (warming caches, connecting to dependencies) before declaring readiness.
  console.log(JSON.stringify({ level: 'info', message: `listening on ${port}`, version }));
  if (!broken)
    setTimeout(() => {
      ready = true;
      console.log(JSON.stringify({ level: 'info', message: 'ready', version }));
    }, startupMs);
});

function shutdown() {
  if (shuttingDown) return;
  shuttingDown = true;
  // Stop accepting; idle keep-alive connections close now, busy ones after their response.
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 10_000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

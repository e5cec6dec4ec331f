#!/usr/bin/env node
// A service for the isolation benchmark: a version whose name contains "chatty" writes LOG_MB
// megabytes of log lines (200 bytes each) as fast as its pipe takes them, then serves quietly.
import { createServer } from 'node:http';

const version = process.env.VERSION ?? 'v1';
const port = Number(process.env.PORT ?? 8080);
const megabytes = Number(process.env.LOG_MB ?? 100);
const server = createServer((req, res) => {
  res.setHeader('x-version', version);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ version, path: req.url }));
});
server.listen(port, '127.0.0.1', () => {
  if (!version.includes('chatty')) return;
  const line = `${'x'.repeat(180)} chatty log line\n`;
  let left = Math.ceil((megabytes * 1024 * 1024) / line.length);
  const spew = () => {
    while (left > 0) {
      left--;
      if (!process.stdout.write(left % 1000 === 0 ? `error: a chatty failure ${left}\n` : line)) return void process.stdout.once('drain', spew);
    }
  };
  spew();
});

/**
 * The floor: the least a proxy on node:http and undici can do (no metrics, no retries, no timeouts,
 * no X-Forwarded-* but -For), to compare Switchyard's proxy with what Node's HTTP machinery costs at all.
 * A row of every `npm run bench:proxy`.
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';
const port = Number(process.argv[2]);
const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 64, keepAliveTimeout: 30_000 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer']);
const server = createServer((req, res) => {
  const raw = req.rawHeaders;
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    if (!HOP.has(k) && k !== 'host') headers.push(raw[i]!, raw[i + 1]!);
  }
  headers.push('x-forwarded-for', req.socket.remoteAddress ?? '');
  pool.dispatch({ path: req.url ?? '/', method: req.method as 'GET', headers, body: null }, {
    onConnect() {},
    onHeaders(statusCode: number, rawHeaders: Buffer[]) {
      const out: string[] = [];
      for (let i = 0; i < rawHeaders.length; i += 2) {
        const k = rawHeaders[i]!.toString('latin1');
        if (!HOP.has(k.toLowerCase())) out.push(k, rawHeaders[i + 1]!.toString('latin1'));
      }
      res.writeHead(statusCode, out);
      return true;
    },
    onData(chunk: Buffer) {
      return res.write(chunk);
    },
    onComplete() {
      res.end();
    },
    onError() {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    },
  } as never);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
process.on('SIGTERM', () => process.exit(0));

import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the stand-in answers the next calls. */
export type ReceiverMode = 'pass' | 'fail' | 'inconclusive' | 'hang' | 'garbage' | 'no-verdict' | 'http-500' | 'redirect';

export interface ReceivedCall {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The signature as a receiver checks it, computed here from the documented scheme, not with Switchyard's code. */
  readonly verified: boolean;
}

/**
 * A webhook receiver as a user would write one (docs/webhook-gates.md): it recomputes
 * HMAC-SHA256(secret, "<X-Switchyard-Timestamp>.<raw body>") and compares it with the `v1=` value
 * of X-Switchyard-Signature, then answers as its mode says. A receiver that hangs keeps the
 * connection open until the caller gives up (or the stand-in closes).
 */
export async function startReceiver(secret: string, mode: ReceiverMode = 'pass') {
  const calls: ReceivedCall[] = [];
  const hanging = new Set<ServerResponse>();
  const waiters: (() => void)[] = [];
  const state = { mode };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(req.headers['x-switchyard-timestamp'] ?? '');
      const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
      const given = String(req.headers['x-switchyard-signature'] ?? '');
      const verified = given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
      calls.push({ headers: req.headers, body, verified });
      waiters.splice(0).forEach((w) => w());
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      // A receiver refuses what it cannot verify: that is what keeps the verdict honest.
      if (!verified) return json(401, { error: 'bad signature' });
      switch (state.mode) {
        case 'pass':
        case 'fail':
        case 'inconclusive':
          return json(200, { verdict: state.mode, summary: `smoke test said ${state.mode}` });
        case 'hang':
          hanging.add(res);
          return;
        case 'garbage':
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end('<html>\u0007oops</html>');
        case 'no-verdict':
          return json(200, { verdict: 'ok' });
        case 'http-500':
          return json(500, { error: 'the smoke runner crashed' });
        case 'redirect':
          res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' });
          return res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/smoke?token=not-for-logs`,
    calls,
    set mode(m: ReceiverMode) {
      state.mode = m;
    },
    /** Resolves once the receiver has been called `n` times in all. */
    called(n: number): Promise<void> {
      if (calls.length >= n) return Promise.resolve();
      return new Promise((resolve) => {
        const check = () => (calls.length >= n ? resolve() : waiters.push(check));
        waiters.push(check);
      });
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

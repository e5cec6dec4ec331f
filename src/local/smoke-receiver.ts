import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SwitchyardConfig } from '../config/config.js';

/**
 * The demo's smoke test behind a webhook gate: what a receiver does (docs/webhook-gates.md). It
 * verifies the signature, sends a few requests to the release's test route (the new version only,
 * before any production traffic), and answers pass when every one succeeded, fail otherwise.
 */
export interface SmokeReceiver {
  readonly url: string;
  close(): Promise<void>;
}

/** Requests the smoke test sends to the test route. */
const SMOKE_REQUESTS = 10;
/** A signed request older than this is refused (a replay). */
const MAX_AGE_SECONDS = 300;

export async function startSmokeReceiver({ port, path, secret }: { port: number; path: string; secret: string }): Promise<SmokeReceiver> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (req.method !== 'POST' || req.url !== path) return answer(404, { error: 'not found' });
      const body = Buffer.concat(chunks).toString('utf8');
      // Verify as every receiver should: HMAC-SHA256 of "<timestamp>.<body>", compared in constant time, and fresh.
      const timestamp = String(req.headers['x-switchyard-timestamp'] ?? '');
      const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`);
      const given = Buffer.from(String(req.headers['x-switchyard-signature'] ?? ''));
      const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) <= MAX_AGE_SECONDS;
      if (given.length !== expected.length || !timingSafeEqual(given, expected) || !fresh) return answer(401, { error: 'bad signature' });
      const context = JSON.parse(body) as { testUrl?: string };
      if (!context.testUrl) return answer(200, { verdict: 'inconclusive', summary: 'no test route to smoke-test' });
      void smoke(context.testUrl).then((failed) =>
        answer(200, {
          verdict: failed === 0 ? 'pass' : 'fail',
          summary: `${SMOKE_REQUESTS - failed} of ${SMOKE_REQUESTS} requests to the test route succeeded`,
        }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}${path}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** How many of the smoke requests failed (no answer, or not 2xx). */
async function smoke(testUrl: string): Promise<number> {
  let failed = 0;
  for (let i = 0; i < SMOKE_REQUESTS; i++) {
    const ok = await fetch(testUrl, { signal: AbortSignal.timeout(2000) })
      .then(async (r) => (await r.arrayBuffer(), r.ok))
      .catch(() => false);
    if (!ok) failed++;
  }
  return failed;
}

/**
 * For the demo: a smoke receiver behind every webhook of the first service that points at this
 * machine over http and whose secret is not set: the secret is made up for the run and put where the
 * gate reads it (its secretEnv in `env`). A webhook with its secret set is the user's: left alone.
 */
export async function startDemoReceivers(config: SwitchyardConfig, env: Record<string, string | undefined> = process.env): Promise<SmokeReceiver[]> {
  const [first] = config.services;
  const receivers: SmokeReceiver[] = [];
  for (const gate of first?.settings.gates ?? []) {
    if (gate.kind !== 'webhook' || !('env' in gate.secret) || env[gate.secret.env]) continue;
    const url = new URL(gate.url);
    if (url.protocol !== 'http:' || url.hostname !== '127.0.0.1' || !url.port) continue;
    const secret = randomBytes(24).toString('base64url');
    receivers.push(await startSmokeReceiver({ port: Number(url.port), path: url.pathname, secret }));
    env[gate.secret.env] = secret;
  }
  return receivers;
}

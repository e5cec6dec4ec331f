import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Verifies an AWS Signature Version 4 from scratch, the way AWS documents it ("Create a signed AWS API
 * request": canonical request, string to sign, the HMAC key chain), with node:crypto only — not with
 * the SDK's signer that made the signature, so a signing bug cannot check itself.
 */
export interface Verified {
  readonly ok: boolean;
  readonly reason?: string;
  readonly accessKeyId?: string;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it: unreserved characters stay, everything else %XX in upper case. */
const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export function verifySigV4(
  request: { method: string; path: string; query: URLSearchParams; headers: IncomingHttpHeaders; body: string },
  secrets: Readonly<Record<string, string>>,
  expected: { region: string; service: string; now?: number },
): Verified {
  const auth = request.headers['authorization'];
  if (typeof auth !== 'string') return { ok: false, reason: 'no Authorization header' };
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
    auth,
  );
  if (!m) return { ok: false, reason: `malformed Authorization: ${auth}` };
  const [, accessKeyId = '', date = '', region, service, signedHeaders = '', signature = ''] = m;
  if (region !== expected.region || service !== expected.service)
    return { ok: false, reason: `scope ${region}/${service}, expected ${expected.region}/${expected.service}` };
  const amzDate = request.headers['x-amz-date'];
  if (typeof amzDate !== 'string' || !amzDate.startsWith(date)) return { ok: false, reason: 'X-Amz-Date missing or not the credential date' };
  const when = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  if (Math.abs((expected.now ?? Date.now()) - when) > 5 * 60_000) return { ok: false, reason: 'request time too far from now (5 minutes)' };
  const secret = secrets[accessKeyId];
  if (!secret) return { ok: false, reason: `unknown access key ${accessKeyId}` };
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return { ok: false, reason: 'host and x-amz-date must be signed' };
  const canonicalHeaders = names
    .map((name) => {
      const value = request.headers[name];
      const text = Array.isArray(value) ? value.join(',') : (value ?? '');
      return `${name}:${text.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonicalQuery = [...request.query.entries()]
    .map(([k, v]) => [encode(k), encode(v)] as const)
    .sort(([a, x], [b, y]) => (a === b ? x.localeCompare(y) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  // The wire path is encoded once; SigV4 encodes each segment again (twice in all; S3 alone once).
  const canonicalPath = request.path
    .split('/')
    .map((segment) => encode(segment))
    .join('/');
  const payloadHash = sha256(request.body);
  const claimed = request.headers['x-amz-content-sha256'];
  if (typeof claimed === 'string' && claimed !== payloadHash && claimed !== 'UNSIGNED-PAYLOAD')
    return { ok: false, reason: 'x-amz-content-sha256 does not match the body' };
  const canonicalRequest = [request.method, canonicalPath, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region ?? ''), service ?? ''), 'aws4_request');
  const mine = createHmac('sha256', key).update(stringToSign).digest();
  const theirs = Buffer.from(signature, 'hex');
  if (theirs.length !== mine.length || !timingSafeEqual(mine, theirs)) return { ok: false, reason: 'signature does not match' };
  return { ok: true, accessKeyId };
}

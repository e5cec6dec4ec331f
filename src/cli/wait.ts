import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

/** SHA-256 for the SigV4 signer, on node:crypto. */
type Source = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: Source): string | Uint8Array =>
  typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

class Sha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: Source) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret ? createHmac('sha256', bytes(this.secret)) : createHash('sha256');
  }
  update(data: Source): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

export interface WaitOptions {
  readonly api: string;
  readonly service: string;
  /** Find the release of this digest (what CI knows after `docker push`)… */
  readonly digest?: string;
  /** …or wait for this release id. */
  readonly releaseId?: string;
  /** Local mode's bearer token; without it requests are signed with AWS SigV4 (IAM authorizer). */
  readonly token?: string;
  readonly region?: string;
  readonly timeoutMs: number;
  readonly pollMs?: number;
  readonly log?: (line: string) => void;
}

export interface WaitResult {
  readonly exitCode: 0 | 1 | 3;
  readonly releaseId?: string;
  readonly phase?: string;
  readonly reason?: string;
}

interface Summary {
  id: string;
  image: string;
  phase: string;
  reason?: string;
  traffic?: { candidate: number };
}

const FINAL = new Set(['succeeded', 'rolled_back', 'failed', 'cancelled', 'superseded']);

export interface ApiAuth {
  /** Local mode's bearer token; without it requests are signed with AWS SigV4 (IAM authorizer). */
  readonly token?: string;
  readonly region?: string;
}

/** One call to the Switchyard API, with the bearer token or signed with SigV4; a non-2xx answer throws its message. */
export async function apiRequest(method: 'GET' | 'POST', url: URL, auth: ApiAuth, body?: unknown): Promise<unknown> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { host: url.host, accept: 'application/json', ...(payload ? { 'content-type': 'application/json' } : {}) };
  if (auth.token) {
    headers['authorization'] = `Bearer ${auth.token}`;
  } else {
    const region = auth.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'];
    if (!region) throw new Error('set AWS_REGION (or pass --region) to sign requests for the IAM-authorized API, or pass --token for local mode');
    const signer = new SignatureV4({ service: 'execute-api', region, credentials: defaultProvider(), sha256: Sha256 });
    const query = Object.fromEntries(url.searchParams.entries());
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers,
      ...(payload ? { body: payload } : {}),
    });
    Object.assign(headers, signed.headers);
  }
  const res = await fetch(url, { method, headers, ...(payload ? { body: payload } : {}) });
  const answer: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const message = (answer as { error?: { message?: string } } | undefined)?.error?.message ?? res.statusText;
    throw new Error(`${method} ${url.pathname} answered ${res.status}: ${message}`);
  }
  return answer;
}

const get = (url: URL, options: WaitOptions) => apiRequest('GET', url, options);

/** A failure worth waiting through: the API unreachable for a moment, or answering 502/503/504/429. */
export function isTransientNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { cause?: { code?: string } }).cause?.code;
  if (code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'].includes(code))
    return true;
  return error.message === 'fetch failed' || / answered (429|502|503|504):/.test(error.message);
}

/**
 * Waits for a release's outcome through the API, for CI: exit code 0 when it succeeded, 1 when it
 * rolled back, failed or was cancelled or superseded, 3 on timeout.
 */
export async function waitForRelease(options: WaitOptions): Promise<WaitResult> {
  const log = options.log ?? (() => undefined);
  const deadline = Date.now() + options.timeoutMs;
  let releaseId = options.releaseId;
  let last = '';
  while (Date.now() < deadline) {
    let release: Summary | undefined;
    try {
      if (releaseId) {
        release = (await get(new URL(`releases/${encodeURIComponent(releaseId)}`, `${options.api.replace(/\/?$/, '/')}`), options)) as Summary;
      } else {
        const url = new URL('releases', `${options.api.replace(/\/?$/, '/')}`);
        url.searchParams.set('service', options.service);
        url.searchParams.set('limit', '50');
        const page = (await get(url, options)) as { releases: Summary[] };
        release = page.releases.find((r) => options.digest !== undefined && r.image.includes(options.digest));
        releaseId = release?.id;
      }
    } catch (error) {
      // A long CI wait must not end on one refused connection or one 503: say so, and ask again.
      if (!isTransientNetworkError(error)) throw error;
      const line = `the API did not answer (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}); retrying`;
      if (line !== last) log(line);
      last = line;
      await new Promise((r) => setTimeout(r, options.pollMs ?? 5000));
      continue;
    }
    if (release) {
      const line = `${release.id} ${release.phase}${release.traffic ? ` (${release.traffic.candidate}% on the new version)` : ''}`;
      if (line !== last) log(line);
      last = line;
      if (FINAL.has(release.phase)) {
        return {
          exitCode: release.phase === 'succeeded' ? 0 : 1,
          releaseId: release.id,
          phase: release.phase,
          ...(release.reason ? { reason: release.reason } : {}),
        };
      }
    } else if (last === '') {
      log(`waiting for the release of ${options.digest} to start…`);
      last = 'waiting';
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 5000));
  }
  return { exitCode: 3, ...(releaseId ? { releaseId } : {}) };
}

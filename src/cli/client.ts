import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { createHash, createHmac, randomUUID, type Hash, type Hmac } from 'node:crypto';

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

export interface ApiAuth {
  /** Local mode's bearer token. */
  readonly token?: string;
  /** A JWT for an API deployed with the JWT authorizer. */
  readonly jwt?: string;
  /** The region to sign in, for the IAM-authorized API (SigV4 with the environment's AWS credentials). */
  readonly region?: string;
  /** Local mode: the person the token acts as (X-Switchyard-Actor); the API checks the token may. */
  readonly actor?: string;
}

/** An API Gateway host names its region: `<api-id>.execute-api.<region>.<dns suffix>` (and VPC endpoint forms, `…execute-api.<region>.vpce.…`). */
const EXECUTE_API_HOST = /(?:^|\.)execute-api\.([a-z]{2,}(?:-[a-z]+)+-\d+)\./;

/**
 * The region to sign a request to `url` in. SigV4 must sign in the region of the host it calls
 * (AWS SigV4 documentation: the credential scope's region is the endpoint's; aws-facts, December
 * 2026): an `execute-api` host names it (`https://abc.execute-api.eu-west-1.amazonaws.com` ->
 * eu-west-1, also `.amazonaws.com.cn` hosts), and it wins over AWS_REGION or --region, which only
 * serve a host that names no region (a custom domain). Undefined when neither says.
 *
 * @example signingRegion(new URL('https://abc.execute-api.cn-north-1.amazonaws.com.cn/prod'), 'us-east-1') // 'cn-north-1'
 */
export function signingRegion(url: URL, configured: string | undefined): string | undefined {
  return EXECUTE_API_HOST.exec(url.hostname)?.[1] ?? configured;
}

/**
 * Signs a request to an IAM-authorized API Gateway API (SigV4, service `execute-api`) with the
 * environment's AWS credentials (or the ones given), and returns the headers to send. The region
 * signed in is the host's when the host names one (see signingRegion), else `region`.
 */
export async function sigv4Headers(request: {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** For a host that names no region (a custom domain). */
  readonly region?: string;
  readonly credentials?: AwsCredentialIdentityProvider;
}): Promise<Record<string, string>> {
  const { method, url, headers, body } = request;
  const region = signingRegion(url, request.region);
  if (!region)
    throw new ApiError(0, 'usage', `${url.host} names no region to sign in (it is not an execute-api host): set AWS_REGION (or --region) to the API's region`);
  const signer = new SignatureV4({ service: 'execute-api', region, credentials: request.credentials ?? defaultProvider(), sha256: Sha256 });
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams.entries()),
    headers: { ...headers, host: url.host },
    ...(body ? { body } : {}),
  });
  // Host is signed (SigV4 requires it) but set by the HTTP client itself from the URL, identically.
  const { host: _host, ...out } = signed.headers;
  return out;
}

/** The API answered with an error: its HTTP status, Switchyard's error code and message. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A failure worth trying again: the API unreachable for a moment, or answering 502/503/504/429. */
export function isTransientNetworkError(error: unknown): boolean {
  if (error instanceof ApiError) return [429, 502, 503, 504].includes(error.status);
  if (!(error instanceof Error)) return false;
  const code = (error as { cause?: { code?: string } }).cause?.code;
  if (code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'].includes(code))
    return true;
  return error.message === 'fetch failed';
}

/** Nothing reached the server (the connection was refused): even a request that changes things may be sent again. */
function neverSent(error: unknown): boolean {
  return (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
}

/** Words for a network failure a person can act on. */
export function describeNetworkError(error: unknown, api: string): string {
  const code = (error as { cause?: { code?: string } }).cause?.code;
  if (code === 'ECONNREFUSED') return `nothing answers at ${api} (ECONNREFUSED): is \`switchyard local\` running, or is --api right?`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the API's host in ${api}: check --api`;
  const cause = (error as { cause?: { message?: string } }).cause?.message;
  return `cannot reach ${api}: ${code ?? cause ?? (error instanceof Error ? error.message : String(error))}`;
}

export interface RequestOptions {
  /** Try again through transient failures for this long. @default 5 s; `wait` and `get --watch` keep trying longer */
  readonly retryForMs?: number;
  readonly idempotencyKey?: string;
}

/**
 * The Switchyard API from the command line: the bearer token (local mode), a JWT, or SigV4 with
 * the environment's AWS credentials (the IAM authorizer on AWS). Reads are retried through
 * transient failures; a request that changes something is retried only when it never reached the
 * server, or carries an idempotency key, so nothing is done twice.
 */
export class ApiClient {
  readonly base: string;

  constructor(
    api: string,
    private readonly auth: ApiAuth = {},
    private readonly onRetry: (line: string) => void = () => undefined,
  ) {
    this.base = api.replace(/\/?$/, '/');
  }

  url(path: string, query: Record<string, string | number | undefined> = {}): URL {
    const url = new URL(path.replace(/^\//, ''), this.base);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    return url;
  }

  async get<T>(path: string, query: Record<string, string | number | undefined> = {}, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', this.url(path, query), undefined, options);
  }

  /** Every change carries an idempotency key, the same through this call's own retries: nothing is done twice. */
  async post<T>(path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', this.url(path), body, { ...options, idempotencyKey: options.idempotencyKey ?? ApiClient.newKey() });
  }

  /** A new idempotency key, so a retried change cannot be applied twice. */
  static newKey(): string {
    return `cli-${randomUUID()}`;
  }

  private async request<T>(method: 'GET' | 'POST', url: URL, body: unknown, options: RequestOptions): Promise<T> {
    const deadline = Date.now() + (options.retryForMs ?? 5_000);
    let delay = 250;
    let said = '';
    for (;;) {
      try {
        return (await this.once(method, url, body, options.idempotencyKey)) as T;
      } catch (error) {
        const retryable = isTransientNetworkError(error) && (method === 'GET' || options.idempotencyKey !== undefined || neverSent(error));
        if (!retryable || Date.now() + delay > deadline) throw error;
        const line = `the API did not answer (${error instanceof ApiError ? error.status : ((error as { cause?: { code?: string } }).cause?.code ?? 'network error')}); retrying`;
        if (line !== said) this.onRetry(line);
        said = line;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  private async once(method: 'GET' | 'POST', url: URL, body: unknown, idempotencyKey?: string): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {
      host: url.host,
      accept: 'application/json',
      ...(payload ? { 'content-type': 'application/json' } : {}),
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      ...(this.auth.actor ? { 'x-switchyard-actor': this.auth.actor } : {}),
    };
    if (this.auth.token) {
      headers['authorization'] = `Bearer ${this.auth.token}`;
    } else if (this.auth.jwt) {
      headers['authorization'] = `Bearer ${this.auth.jwt}`;
    } else {
      // Without a token: SigV4 for the IAM-authorized API; local mode's reads need no credentials.
      // The host's region when it names one: signing in AWS_REGION's would be refused by a host elsewhere.
      const region = signingRegion(url, this.auth.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION']);
      const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
      if (!region && !loopback)
        throw new ApiError(0, 'usage', 'set AWS_REGION (or --region) to sign requests for the IAM-authorized API, or pass --token (local mode) or --jwt');
      if (region) await this.sign(method, url, headers, payload, region);
    }
    const res = await fetch(url, { method, headers, ...(payload ? { body: payload } : {}) });
    const answer: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const error = (answer as { error?: { code?: string; message?: string } } | undefined)?.error;
      // API Gateway's own refusals (an expired or unsigned request) say why in `message` and x-amzn-errortype.
      const gateway = (answer as { message?: unknown } | undefined)?.message;
      const type = res.headers.get('x-amzn-errortype')?.split(':')[0];
      const why = error?.message ?? (typeof gateway === 'string' ? `${gateway}${type ? ` (${type})` : ''}` : res.statusText);
      throw new ApiError(res.status, error?.code ?? type ?? 'http_error', `${method} ${url.pathname} answered ${res.status}: ${why}`);
    }
    return answer;
  }

  private async sign(method: string, url: URL, headers: Record<string, string>, payload: string | undefined, region: string): Promise<void> {
    Object.assign(headers, await sigv4Headers({ method, url, headers, ...(payload ? { body: payload } : {}), region }));
  }
}

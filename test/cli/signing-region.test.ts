import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient, sigv4Headers, signingRegion } from '../../src/cli/client.js';
import { verifySigV4 } from '../support/sigv4-verifier.js';

/**
 * SigV4 must sign in the region of the host it calls: an `execute-api` host names its region, and
 * API Gateway refuses a signature scoped to another (for example the shell's AWS_REGION). Checked
 * with the independent verifier (test/support/sigv4-verifier.ts), not with the signer itself.
 */
const KEY = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const credentials = async () => KEY;

function verify(url: URL, headers: Record<string, string>, body: string, method: string, region: string) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return verifySigV4(
    { method, path: url.pathname, query: url.searchParams, headers: { ...lower, host: url.host }, body },
    { [KEY.accessKeyId]: KEY.secretAccessKey },
    { region, service: 'execute-api' },
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
});

describe('the CLI signs in the region of the execute-api host it calls', () => {
  it.each([
    ['https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod/services', 'us-east-1', 'eu-west-1'],
    ['https://abc123defg.execute-api.cn-north-1.amazonaws.com.cn/prod/services', 'eu-west-1', 'cn-north-1'],
    ['https://abc123defg.execute-api.us-gov-west-1.amazonaws.com/prod/services', undefined, 'us-gov-west-1'],
    ['https://abc123defg.execute-api.eusc-de-east-1.amazonaws.eu/prod/services', 'eu-central-1', 'eusc-de-east-1'],
    ['https://abc123defg-vpce-0123456789abcdef0.execute-api.ap-southeast-2.vpce.amazonaws.com/prod', 'us-east-1', 'ap-southeast-2'],
    // A custom domain names no region: the configured one is used.
    ['https://releases.example.com/services', 'eu-west-2', 'eu-west-2'],
  ])('%s with AWS_REGION=%s signs in %s', (url, configured, expected) => {
    expect(signingRegion(new URL(url), configured)).toBe(expected);
  });

  it('sigv4Headers (also the dashboard’s signer) scopes the signature to the host’s region, not the one given', async () => {
    const url = new URL('https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod/releases/r-1/approve');
    const body = JSON.stringify({ comment: 'ship it' });
    const headers = { host: url.host, 'content-type': 'application/json' };
    const signed = await sigv4Headers({ method: 'POST', url, headers, body, region: 'us-east-1', credentials });
    expect(verify(url, { ...headers, ...signed }, body, 'POST', 'eu-west-1')).toEqual({ ok: true, accessKeyId: KEY.accessKeyId });
    expect(verify(url, { ...headers, ...signed }, body, 'POST', 'us-east-1').ok).toBe(false);
  });

  it('a host that names no region, and no region configured, is a clear error', async () => {
    const url = new URL('https://releases.example.com/services');
    await expect(sigv4Headers({ method: 'GET', url, headers: { host: url.host }, credentials })).rejects.toThrow(
      "releases.example.com names no region to sign in (it is not an execute-api host): set AWS_REGION (or --region) to the API's region",
    );
  });

  it('the API client with AWS_REGION=us-east-1 calls an eu-west-1 API with a signature API Gateway there accepts', async () => {
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', KEY.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', KEY.secretAccessKey);
    // A profile in the shell would take precedence over the keys above in the default credential chain.
    vi.stubEnv('AWS_PROFILE', undefined);
    const verdicts: ReturnType<typeof verifySigV4>[] = [];
    vi.stubGlobal('fetch', async (input: URL | string, init: { method: string; headers: Record<string, string>; body?: string }) => {
      const url = new URL(String(input));
      verdicts.push(verify(url, init.headers, init.body ?? '', init.method, 'eu-west-1'));
      return new Response(JSON.stringify({ services: [] }), { status: 200, headers: { 'content-type': 'application/json' } });
    });
    const client = new ApiClient('https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod');
    await client.get('services');
    expect(verdicts).toEqual([{ ok: true, accessKeyId: KEY.accessKeyId }]);
  });
});

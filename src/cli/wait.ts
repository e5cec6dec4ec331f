import { ApiClient, describeNetworkError, isTransientNetworkError } from './client.js';

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
  /** The release has ended (the wire contract says so; see src/contract). */
  final: boolean;
  reason?: string;
  traffic?: { candidate: number };
}

/**
 * Waits for a release's outcome through the API, for CI: exit code 0 when it succeeded, 1 when it
 * rolled back, failed or was cancelled or superseded, 3 on timeout.
 */
export async function waitForRelease(options: WaitOptions): Promise<WaitResult> {
  const log = options.log ?? (() => undefined);
  const deadline = Date.now() + options.timeoutMs;
  const client = new ApiClient(options.api, { ...(options.token ? { token: options.token } : {}), ...(options.region ? { region: options.region } : {}) });
  let releaseId = options.releaseId;
  let last = '';
  while (Date.now() < deadline) {
    let release: Summary | undefined;
    try {
      if (releaseId) {
        release = await client.get<Summary>(`releases/${encodeURIComponent(releaseId)}`, {}, { retryForMs: 0 });
      } else {
        const page = await client.get<{ releases: Summary[] }>('releases', { service: options.service, limit: 50 }, { retryForMs: 0 });
        release = page.releases.find((r) => options.digest !== undefined && r.image.includes(options.digest));
        releaseId = release?.id;
      }
    } catch (error) {
      // A long CI wait must not end on one refused connection or one 503: say so, and ask again.
      if (!isTransientNetworkError(error)) throw error;
      const line = `${describeNetworkError(error, options.api)}; retrying`;
      if (line !== last) log(line);
      last = line;
      await new Promise((r) => setTimeout(r, options.pollMs ?? 5000));
      continue;
    }
    if (release) {
      const line = `${release.id} ${release.phase}${release.traffic ? ` (${release.traffic.candidate}% on the new version)` : ''}`;
      if (line !== last) log(line);
      last = line;
      if (release.final) {
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

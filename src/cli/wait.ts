import { ApiClient, describeNetworkError, isTransientNetworkError } from './client.js';

export interface WaitOptions {
  readonly api: string;
  readonly service: string;
  /** Find the release of this digest (what CI knows after `docker push`)… */
  readonly digest?: string;
  /** …or wait for this release id. */
  readonly releaseId?: string;
  /**
   * With `digest`: a release of it that has already ended counts only if created at or after this time
   * (ms since the epoch); one still running always counts. An earlier release of the same digest
   * (rolled back, or succeeded then undone) is not the one a new push started.
   * @default the wait's start less {@link CLOCK_SKEW_MS}
   */
  readonly since?: number;
  /** Local mode's bearer token; without it requests are signed with AWS SigV4 (IAM authorizer). */
  readonly token?: string;
  readonly region?: string;
  readonly timeoutMs: number;
  readonly pollMs?: number;
  readonly log?: (line: string) => void;
}

export interface WaitResult {
  /** 0 succeeded, 1 ended without shipping, 3 timed out, 5 lost track of a release that goes on (see `lost`). */
  readonly exitCode: 0 | 1 | 3 | 5;
  readonly releaseId?: string;
  readonly phase?: string;
  readonly reason?: string;
  /**
   * The API stopped answering about a release already found (credentials expired mid-wait: 403; the
   * release's route refused): its message. The release goes on; nothing is known of its outcome.
   */
  readonly lost?: string;
}

/** How far the runner's clock may be behind the API's: a release created this long before the wait still counts. */
export const CLOCK_SKEW_MS = 60_000;

/** `--since` as ms since the epoch (undefined when not given), or what is wrong with it. */
export function sinceTime(since: string | undefined): number | undefined | string {
  if (since === undefined) return undefined;
  const at = /^\d{4}-\d\d-\d\dT/.test(since) ? Date.parse(since) : NaN;
  return Number.isNaN(at) ? `--since must be an ISO 8601 time such as "2026-01-01T12:00:00Z" (when the image was pushed), got "${since}"` : at;
}

interface Summary {
  id: string;
  image: string;
  createdAt: string;
  phase: string;
  /** The release has ended (the wire contract says so; see src/contract). */
  final: boolean;
  reason?: string;
  traffic?: { candidate: number };
}

/**
 * Waits for a release's outcome through the API, for CI: exit code 0 when it succeeded, 1 when it
 * rolled back, failed or was cancelled or superseded, 3 on timeout, 5 when the API stopped answering
 * about a release it had found (a refusal before that is thrown, as for every API command).
 */
export async function waitForRelease(options: WaitOptions): Promise<WaitResult> {
  const log = options.log ?? (() => undefined);
  const deadline = Date.now() + options.timeoutMs;
  const since = options.since ?? Date.now() - CLOCK_SKEW_MS;
  // A release of the digest: one still running, or one that ended but was created since the wait began.
  const ours = (r: Summary) => options.digest !== undefined && r.image.includes(options.digest) && (!r.final || Date.parse(r.createdAt) >= since);
  const client = new ApiClient(options.api, { ...(options.token ? { token: options.token } : {}), ...(options.region ? { region: options.region } : {}) });
  let releaseId = options.releaseId;
  let last = '';
  let phase: string | undefined;
  while (Date.now() < deadline) {
    let release: Summary | undefined;
    try {
      if (releaseId) {
        release = await client.get<Summary>(`releases/${encodeURIComponent(releaseId)}`, {}, { retryForMs: 0 });
      } else {
        const page = await client.get<{ releases: Summary[] }>('releases', { service: options.service, limit: 50 }, { retryForMs: 0 });
        release = page.releases.find(ours);
        releaseId = release?.id;
      }
    } catch (error) {
      // A long CI wait must not end on one refused connection or one 503: say so, and ask again.
      if (!isTransientNetworkError(error)) {
        // Refused about a release already found (its credentials expired): it goes on; say what is known.
        if (!phase || !releaseId) throw error;
        const message = error instanceof Error ? error.message : String(error);
        return { exitCode: 5, releaseId, phase, lost: message };
      }
      const line = `${describeNetworkError(error, options.api)}; retrying`;
      if (line !== last) log(line);
      last = line;
      await new Promise((r) => setTimeout(r, options.pollMs ?? 5000));
      continue;
    }
    if (release) {
      phase = release.phase;
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

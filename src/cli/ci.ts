import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { durationSeconds, parseDuration } from '../core/duration.js';
import { terminalText } from '../core/terminal-text.js';
import type { ReleaseView } from '../contract/schema.js';
import { ApiClient, ApiError, describeNetworkError, type ApiAuth } from './client.js';
import { inlineCode, markdownText, releaseMarkdown } from './markdown.js';
import { sinceTime, waitForRelease, type WaitOptions } from './wait.js';

export interface CiOptions {
  readonly api: string;
  readonly service: string;
  /** Start a release of this image… */
  readonly image?: string;
  /** …or find the release an ECR push of this digest started. */
  readonly digest?: string;
  /** Wait for the outcome (else: start, and report the release as it is). */
  readonly wait: boolean;
  readonly timeoutMs: number;
  /** With `digest`: a release of it that already ended counts only if created since then (see {@link WaitOptions.since}). */
  readonly since?: number;
  /** The token, JWT or region to sign in, and the actor label (local mode), as for every API command. */
  readonly auth?: ApiAuth;
  readonly pollMs?: number;
  readonly log?: (line: string) => void;
}

/** The step's inputs as the action passes them (strings), before they are checked. */
export interface RawCiInputs {
  readonly service?: string;
  readonly image?: string;
  readonly digest?: string;
  readonly wait?: string;
  readonly timeout?: string;
  readonly interval?: string;
  readonly since?: string;
}

export type CiInputs = Pick<CiOptions, 'service' | 'image' | 'digest' | 'wait' | 'timeoutMs' | 'pollMs' | 'since'>;

/**
 * The step's inputs checked, or what is wrong with them: each message names the option and the
 * action's input it comes from, and what to give instead. Nothing is sent before they pass.
 */
export function ciInputs(o: RawCiInputs): CiInputs | string {
  const input = (option: string, name: string) => `--${option} (the action's "${name}" input)`;
  if (!o.service) return `${input('service', 'service')} is required: the service to release, as named in the config`;
  if ((o.image === undefined) === (o.digest === undefined))
    return `give ${input('image', 'image')} to start a release of an image, or ${input('digest', 'digest')} to follow the release an ECR push of it started; not both`;
  if (o.digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(o.digest))
    return `${input('digest', 'digest')} must be sha256:<64 lowercase hex>, as \`docker push\` or ECR prints it; got "${o.digest}"`;
  if (o.wait !== undefined && o.wait !== 'true' && o.wait !== 'false') return `${input('wait', 'wait')} must be true or false, got "${o.wait}"`;
  const wait = o.wait !== 'false';
  if (o.digest !== undefined && !wait)
    return `${input('digest', 'digest')} needs ${input('wait', 'wait')} true: the push started the release, so there is nothing to do but wait for it`;
  const timeout = parseDuration(o.timeout ?? '60m');
  if (timeout === undefined || timeout <= 0) return `${input('timeout', 'timeout')} must be a duration such as "30m" or "2h", got "${o.timeout}"`;
  const interval = durationSeconds(o.interval ?? '5s');
  if (interval === undefined || interval <= 0) return `--interval must be a duration such as "5s", got "${o.interval}"`;
  const since = sinceTime(o.since);
  if (typeof since === 'string') return since;
  return {
    ...(since !== undefined ? { since } : {}),
    service: o.service,
    ...(o.image !== undefined ? { image: o.image } : { digest: o.digest! }),
    wait,
    timeoutMs: timeout * 1000,
    pollMs: interval * 1000,
  };
}

/** What the step reports: its exit code (the CLI's), the outputs, and the job summary in Markdown. */
export interface CiResult {
  /**
   * 0 succeeded (or started, when not waiting), 1 ended without shipping, 3 timed out (as `switchyard
   * wait`), 5 with outcome {@link UNKNOWN}: the API stopped answering about a release that goes on.
   */
  readonly exitCode: 0 | 1 | 3 | 5;
  readonly releaseId?: string;
  /** The release's final phase; `timed_out` when the wait gave up; its phase when the step did not wait. */
  readonly outcome: string;
  readonly summary: string;
}

/** The outcome of a wait that gave up before the release ended. */
export const TIMED_OUT = 'timed_out';
/** The outcome when the API stopped answering about a release already started (credentials expired mid-wait). */
export const UNKNOWN = 'unknown';

/**
 * One CI step (the GitHub Action runs it): start a release of an image, or find the one an ECR push
 * started, wait for its outcome, and report it as outputs and a Markdown summary rendered from the view
 * the API sends. The API's refusals and network failures are thrown, as for every API command.
 */
export async function runCi(o: CiOptions): Promise<CiResult> {
  const api = new ApiClient(o.api, o.auth ?? {}, (line) => o.log?.(line));
  let releaseId: string | undefined;
  if (o.image !== undefined) {
    // post() sends one idempotency key with this start and its retries: a lost answer never starts a second release.
    const started = await api.post<ReleaseView>('releases', { service: o.service, image: o.image });
    releaseId = started.id;
    o.log?.(`release ${started.id} of ${started.service} (${started.image}) started: ${started.phase}`);
    if (!o.wait) return report(api, o.api, { exitCode: 0, releaseId, outcome: started.phase }, started);
  }
  // The wait only reads: a JWT is sent as the bearer token it is; SigV4 signs in the same region.
  const bearer = o.auth?.token ?? o.auth?.jwt;
  let waited;
  try {
    waited = await waitForRelease({
      api: o.api,
      service: o.service,
      ...(releaseId ? { releaseId } : { digest: o.digest }),
      ...(o.since !== undefined ? { since: o.since } : {}),
      ...(bearer ? { token: bearer } : {}),
      ...(o.auth?.region ? { region: o.auth.region } : {}),
      timeoutMs: o.timeoutMs,
      ...(o.pollMs ? { pollMs: o.pollMs } : {}),
      ...(o.log ? { log: o.log } : {}),
    } satisfies WaitOptions);
  } catch (error) {
    // Refused on the first read of the release this step started: it goes on all the same.
    if (!releaseId) throw error;
    return lost(o.service, releaseId, messageOf(error, o.api));
  }
  const id = waited.releaseId ?? releaseId;
  if (waited.lost !== undefined && id) return lost(o.service, id, waited.lost);
  const outcome = waited.exitCode === 3 ? TIMED_OUT : (waited.phase ?? TIMED_OUT);
  if (!id) {
    const summary = `### ⏳ ${markdownText(o.service)}: no release of \`${o.digest}\` started\n\nNo release of this digest started within the timeout. Does the service's \`trigger\` match the repository and tag pushed?\n`;
    return { exitCode: waited.exitCode, outcome, summary };
  }
  return report(api, o.api, { exitCode: waited.exitCode as 0 | 1 | 3, releaseId: id, outcome });
}

const messageOf = (error: unknown, api: string) => (error instanceof ApiError ? error.message : describeNetworkError(error, api));

/**
 * The result of a step that lost track of a release that goes on (exit 5, outcome `unknown`): the API
 * refused to answer about it any more, most often because the job's credentials expired mid-wait. It
 * is not refused (nothing was refused that stops the release): the id is known, and how to follow it.
 */
function lost(service: string, releaseId: string, message: string): CiResult {
  const summary = [
    `### ⚠️ ${markdownText(service)}: release ${inlineCode(releaseId)} goes on, its outcome unknown`,
    '',
    `The step stopped following it: ${markdownText(terminalText(message))}`,
    '',
    `The release was not stopped. Follow it with ${inlineCode(`switchyard get ${releaseId} --watch`)}. A 403 mid-wait is most often the job's AWS credentials expiring (an OIDC role session lasts 1 hour by default): raise the action's \`role-duration-seconds\` and the role's MaxSessionDuration above the timeout (docs/ci.md).`,
    '',
  ].join('\n');
  return { exitCode: 5, releaseId, outcome: UNKNOWN, summary };
}

/** The result with its summary, rendered from the release's full view as the API sends it now. */
async function report(api: ApiClient, apiUrl: string, result: Omit<CiResult, 'summary'> & { releaseId: string }, view?: ReleaseView): Promise<CiResult> {
  let now = view?.final ? view : undefined;
  try {
    now ??= await api.get<ReleaseView>(`releases/${encodeURIComponent(result.releaseId)}`, {}, { retryForMs: 30_000 });
  } catch (error) {
    // The outcome is known; only its details could not be read: keep the id, outcome and exit code.
    if (!view)
      return {
        ...result,
        summary: `### ${markdownText(result.outcome)}: release ${inlineCode(result.releaseId)}\n\nIts details could not be read: ${markdownText(terminalText(messageOf(error, apiUrl)))}\n`,
      };
    now = view;
  }
  const timedOut = result.outcome === TIMED_OUT ? `\n**Timed out** waiting for the release; it goes on: \`switchyard get ${result.releaseId} --watch\`.\n` : '';
  return { ...result, summary: `${releaseMarkdown(now)}${timedOut}` };
}

/** The summary of a step the API refused, or could not be reached for (the CLI's message, escaped). */
export function failureMarkdown(service: string, message: string): string {
  return `### ❌ ${markdownText(service)}: the release step failed\n\n${markdownText(terminalText(message))}\n`;
}

/**
 * Step outputs in the `$GITHUB_OUTPUT` file format, each as `name<<delimiter` lines (GitHub's documented
 * multiline form, which @actions/core always uses), with a random delimiter no value contains.
 */
export function githubOutputs(values: Readonly<Record<string, string>>): string {
  return Object.entries(values)
    .map(([name, value]) => {
      let delimiter = `ghadelimiter_${randomUUID()}`;
      while (value.includes(delimiter)) delimiter = `ghadelimiter_${randomUUID()}`;
      return `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
    })
    .join('');
}

/** Appends the outputs and the summary to the files GitHub names (either may be absent outside Actions). */
export async function writeGithubFiles(
  files: { outputs?: string; summary?: string },
  result: { releaseId?: string; outcome: string; summary: string },
): Promise<void> {
  if (files.outputs) await appendFile(files.outputs, githubOutputs({ 'release-id': result.releaseId ?? '', outcome: result.outcome }));
  if (files.summary) await appendFile(files.summary, fitSummary(result.summary));
}

/** The most GitHub keeps of one step's summary: 1 MiB (beyond it the summary is not shown at all). */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024;

/**
 * The summary within `limit` bytes of UTF-8: whole lines up to the limit, then a note that the rest was
 * cut and where to read it all.
 */
export function fitSummary(summary: string, limit = SUMMARY_LIMIT_BYTES): string {
  const bytes = Buffer.from(summary, 'utf8');
  if (bytes.length <= limit) return summary;
  const note = '\n\n**Cut here**: the summary is longer than GitHub keeps (1 MiB). `switchyard get <id>` shows the release in full.\n';
  const kept = bytes.subarray(0, limit - Buffer.byteLength(note)).toString('utf8');
  // Whole lines only (a cut table row or code span could run into the note); a partly cut character is dropped.
  return `${kept.slice(0, Math.max(0, kept.lastIndexOf('\n')))}${note}`;
}

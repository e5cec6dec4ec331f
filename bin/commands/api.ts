import { ApiClient, ApiError, describeNetworkError, type ApiAuth } from '../../src/cli/client.js';
import {
  colourWanted,
  fitToScreen,
  logLine,
  newEventLines,
  paint,
  releaseDetail,
  releaseTable,
  type LogLine,
  type ReleaseSummary,
  type ReleaseView,
} from '../../src/cli/render.js';
import type { RawCiInputs } from '../../src/cli/ci.js';
import { sinceTime, waitForRelease } from '../../src/cli/wait.js';
import { formatDuration, parseDuration } from '../../src/core/duration.js';
import { terminalJson, terminalSafe, terminalText } from '../../src/core/terminal-text.js';
import { ExitCode, refused, usage } from '../exit.js';

/** The options every API command takes (commander's merged global and command options). */
export interface ApiOptions {
  readonly api?: string;
  readonly token?: string;
  readonly jwt?: string;
  readonly region?: string;
  readonly as?: string;
  readonly json?: boolean;
  readonly color?: boolean;
}

export const DEFAULT_API = 'http://127.0.0.1:8787';

/** How a command proves itself to the API: the options, else their environment variables. */
function authOf(o: ApiOptions): ApiAuth {
  const token = o.token ?? process.env['SWITCHYARD_TOKEN'];
  const jwt = o.jwt ?? process.env['SWITCHYARD_JWT'];
  const actor = o.as ?? process.env['SWITCHYARD_ACTOR'];
  return { ...(token ? { token } : {}), ...(jwt ? { jwt } : {}), ...(o.region ? { region: o.region } : {}), ...(actor ? { actor } : {}) };
}

function client(o: ApiOptions): ApiClient {
  return new ApiClient(apiOf(o), authOf(o), (line) => process.stderr.write(`${terminalText(line)}\n`));
}

const apiOf = (o: ApiOptions) => o.api ?? process.env['SWITCHYARD_API'] ?? DEFAULT_API;
const out = (text: string): void => void process.stdout.write(text);
/** What the API answered, as JSON a terminal cannot act on (DEL, C1 and bidi controls written as \u escapes). */
const json = (value: unknown): void => out(`${terminalJson(value, 2)}\n`);
/** An error from the API can quote what others wrote (a reason, a label): no control character reaches the terminal. */
const fail = (message: string): void => void process.stderr.write(`switchyard: ${terminalText(message)}\n`);
const painter = (o: ApiOptions) => paint(colourWanted(process.stdout, o.color));

/**
 * Runs an API command; turns the API's refusals and network failures into a message and an exit code.
 * `reportFailure` (CI) records the failure, with the exit code it ends with, before the process exits.
 */
async function guarded(o: ApiOptions, run: () => Promise<void>, reportFailure?: (exitCode: number, message: string) => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    const message = error instanceof ApiError ? error.message : describeNetworkError(error, apiOf(o));
    // Status 0: the client refused before sending (a usage error); 5xx and 429: the API failed or was busy.
    const status = error instanceof ApiError ? error.status : undefined;
    const code = status === 0 ? ExitCode.usage : status === undefined || status >= 500 || status === 429 ? ExitCode.unreachable : ExitCode.refused;
    await reportFailure?.(code, message);
    if (code === ExitCode.usage) usage(message);
    fail(message);
    process.exit(code);
  }
}

export function list(o: ApiOptions & { service?: string; phase?: string; limit?: string }): Promise<void> {
  return guarded(o, async () => {
    const page = await client(o).get<{ releases: ReleaseSummary[] }>('releases', { service: o.service, phase: o.phase, limit: o.limit ?? 20 });
    if (o.json) return json(page);
    out(releaseTable(page.releases, painter(o)));
  });
}

export function history(service: string, o: ApiOptions & { limit?: string }): Promise<void> {
  return list({ ...o, service, limit: o.limit ?? '50' });
}

export function get(idOrService: string, o: ApiOptions & { watch?: boolean; interval?: string; format?: 'markdown' }): Promise<void> {
  if (o.format && (o.watch || o.json)) usage('--format markdown prints the release once: leave out --watch and --json');
  return guarded(o, async () => {
    const api = client(o);
    // A service name stands for its active release, else its latest one (as for logs).
    const id = (await isReleaseId(api, idOrService)) ? idOrService : await latestRelease(api, idOrService);
    const read = () => api.get<ReleaseView>(`releases/${encodeURIComponent(id)}`, {}, { retryForMs: o.watch ? 60_000 : 10_000 });
    let release = await read();
    if (o.format === 'markdown') return out((await import('../../src/cli/markdown.js')).releaseMarkdown(release));
    if (!o.watch) return o.json ? json(release) : out(releaseDetail(release, painter(o)));
    const intervalMs = (parseDuration(o.interval ?? '1s') ?? 1) * 1000;
    // A terminal gets the whole view, redrawn in place; a pipe gets each new event as a line (and JSON lines with --json).
    const tty = process.stdout.isTTY === true && !o.json;
    let drawn = 0;
    let seen = 0;
    for (;;) {
      if (tty) {
        // Fitted to the terminal as it is now (it may have been resized): no line wraps, so moving up
        // `drawn` lines always reaches the first, and nothing is pushed into the scrollback.
        const text = fitToScreen(releaseDetail(release, painter(o)), { rows: process.stdout.rows ?? 24, columns: process.stdout.columns ?? 80 });
        if (drawn > 0) out(`\u001b[${drawn}A\u001b[0J`);
        out(text);
        drawn = text.split('\n').length - 1;
      } else if (o.json) {
        if (release.timeline.length > seen) out(`${terminalJson(release)}\n`);
      } else {
        for (const line of newEventLines(release, seen)) out(`${line}\n`);
      }
      seen = release.timeline.length;
      if (release.final) process.exit(release.phase === 'succeeded' ? ExitCode.ok : ExitCode.unsuccessful);
      await new Promise((r) => setTimeout(r, intervalMs));
      release = await read();
    }
  });
}

export function release(service: string, image: string, o: ApiOptions & { expedite?: boolean; reason?: string; idempotencyKey?: string }): Promise<void> {
  if (o.expedite && !o.reason) usage('--expedite needs --reason "<why this release skips its bakes>" (it goes in the timeline)');
  return guarded(o, async () => {
    const created = await client(o).post<ReleaseView>(
      'releases',
      { service, image, ...(o.expedite ? { expedite: true } : {}), ...(o.reason ? { reason: o.reason } : {}) },
      { idempotencyKey: o.idempotencyKey ?? ApiClient.newKey() },
    );
    if (o.json) return json(created);
    const c = terminalSafe(created);
    out(`release ${c.id} of ${c.service} (${c.image}) started: ${c.phase}\n  follow it: switchyard get ${c.id} --watch\n`);
  });
}

export type DecideAction = 'approve' | 'reject' | 'promote' | 'rollback' | 'pause' | 'resume';

/** `idOrService`: a release id; for pause and resume also a service name (its active release). */
export function decide(action: DecideAction, idOrService: string, o: ApiOptions & { comment?: string }): Promise<void> {
  return guarded(o, async () => {
    const api = client(o);
    const id = (action !== 'pause' && action !== 'resume') || (await isReleaseId(api, idOrService)) ? idOrService : await activeRelease(api, idOrService);
    const answer = await api.post<ReleaseView>(`releases/${encodeURIComponent(id)}/${action}`, o.comment ? { comment: o.comment } : undefined);
    if (o.json) return json(answer);
    const r = terminalSafe(answer);
    const done = {
      approve: 'approved',
      reject: 'rejected',
      promote: 'promote requested',
      rollback: 'rollback requested',
      pause: `paused${r.paused ? ` with ${formatDuration(r.paused.bakeLeftSeconds)} of the bake left${r.paused.until ? ` (the target holds it at most until ${r.paused.until})` : ''}` : ''}`,
      resume: 'resumed',
    }[action];
    out(`${r.id}: ${done}; now ${r.phase}, ${r.traffic.candidate}% on the new version\n`);
  });
}

/** The service's active release: pause and resume act on a running release, never on the latest finished one. */
async function activeRelease(api: ApiClient, service: string): Promise<string> {
  const found = await serviceOf(api, service);
  if (!found.activeRelease)
    refused(
      `service ${service} has no active release to pause or resume (pause holds a running release at its bake; switchyard get ${service} shows its latest)`,
    );
  return found.activeRelease;
}

export function retry(id: string, o: ApiOptions & { reason?: string }): Promise<void> {
  return guarded(o, async () => {
    const answer = await client(o).post<ReleaseView>(`releases/${encodeURIComponent(id)}/retry`, o.reason ? { comment: o.reason } : undefined);
    if (o.json) return json(answer);
    const r = terminalSafe(answer);
    out(
      `release ${r.id} of ${r.service} started again with ${r.image} (retry of ${terminalText(id)}): ${r.phase}\n  follow it: switchyard get ${r.id} --watch\n`,
    );
  });
}

export function undo(service: string, o: ApiOptions & { reason?: string; to?: string; expedite?: boolean }): Promise<void> {
  if (o.expedite && !o.to)
    usage('--expedite applies to undo --to <version> (an undo without --to is already quick: readiness check, then all traffic at once)');
  if (o.expedite && !o.reason) usage('--expedite needs --reason "<why this undo skips its bakes>" (it goes in the timeline)');
  return guarded(o, async () => {
    const body = { ...(o.reason ? { comment: o.reason } : {}), ...(o.to ? { to: o.to } : {}), ...(o.expedite ? { expedite: true } : {}) };
    const answer = await client(o).post<ReleaseView>(`services/${encodeURIComponent(service)}/undo`, Object.keys(body).length > 0 ? body : undefined);
    if (o.json) return json(answer);
    const r = terminalSafe(answer);
    const how = !o.to ? 'undo, no bakes' : o.expedite ? 'undo, expedited' : 'undo, through the plan';
    out(`release ${r.id} returns ${r.service} to ${r.image} (${how}): ${r.phase}\n  follow it: switchyard get ${r.id} --watch\n`);
  });
}

export async function wait(o: ApiOptions & { service?: string; digest?: string; release?: string; timeout?: string; since?: string }): Promise<void> {
  if (!o.service || (!o.digest && !o.release)) usage('wait needs --service and --digest or --release (see switchyard wait --help)');
  const timeout = parseDuration(o.timeout ?? '60m');
  if (timeout === undefined) usage(`--timeout must be a duration such as "30m", got "${o.timeout}"`);
  const since = sinceTime(o.since);
  if (typeof since === 'string') usage(since);
  const token = o.token ?? process.env['SWITCHYARD_TOKEN'];
  await guarded(o, async () => {
    const result = await waitForRelease({
      api: apiOf(o),
      service: o.service!,
      ...(o.digest ? { digest: o.digest } : {}),
      ...(o.release ? { releaseId: o.release } : {}),
      ...(since !== undefined ? { since } : {}),
      ...(token ? { token } : {}),
      ...(o.region ? { region: o.region } : {}),
      timeoutMs: timeout * 1000,
      log: (line) => out(`${terminalText(line)}\n`),
    });
    if (o.json) json(result);
    else {
      const r = terminalSafe(result);
      if (r.exitCode === 3) out(`timed out waiting for ${r.releaseId ?? 'the release'}\n`);
      else if (r.lost !== undefined) fail(`lost track of release ${r.releaseId} (${r.phase}); it goes on: ${r.lost}`);
      else out(`release ${r.releaseId} ${r.phase}${r.reason ? `: ${r.reason}` : ''}\n`);
    }
    process.exit(result.exitCode);
  });
}

/** The options of `switchyard ci`, as the GitHub Action passes its inputs. */
export interface CiCommandOptions extends ApiOptions, RawCiInputs {
  readonly outputs?: string;
  readonly summary?: string;
}

/** What `ci` reports as its outcome when the API refused or could not be reached (exit 4 or 5). */
const CI_FAILURE_OUTCOME: Readonly<Record<number, string>> = { [ExitCode.refused]: 'refused', [ExitCode.unreachable]: 'unreachable' };

/**
 * `switchyard ci`: what the GitHub Action runs. Every input is checked before anything is sent; each
 * message names the option and the action's input it comes from.
 */
export async function ci(o: CiCommandOptions): Promise<void> {
  const { ciInputs, failureMarkdown, runCi, writeGithubFiles } = await import('../../src/cli/ci.js');
  const inputs = ciInputs(o);
  if (typeof inputs === 'string') usage(inputs);
  const files = { ...(o.outputs ? { outputs: o.outputs } : {}), ...(o.summary ? { summary: o.summary } : {}) };
  const write = async (result: Parameters<typeof writeGithubFiles>[1]) => {
    try {
      await writeGithubFiles(files, result);
    } catch (error) {
      fail(`could not write the step's outputs or summary: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  await guarded(
    o,
    async () => {
      const result = await runCi({
        ...inputs,
        api: apiOf(o),
        auth: authOf(o),
        // With --json, stdout is the result alone; progress goes to stderr.
        log: (line) => (o.json ? process.stderr : process.stdout).write(`${terminalText(line)}\n`),
      });
      await write(result);
      if (o.json) json({ releaseId: result.releaseId, outcome: result.outcome, exitCode: result.exitCode });
      else out(`${terminalText(`${result.releaseId ?? 'no release'}: ${result.outcome}`)}\n`);
      process.exit(result.exitCode);
    },
    // A usage error (no region to sign in) sent nothing, like bad input: no output, as docs/ci.md says.
    async (code, message) => {
      const outcome = CI_FAILURE_OUTCOME[code];
      if (outcome) await write({ outcome, summary: failureMarkdown(inputs.service, message) });
    },
  );
}

interface LogPage {
  readonly version: string;
  readonly insights?: string;
  /** The read stopped at its bound on bytes looked through before it found `limit` lines. */
  readonly truncated?: boolean;
  readonly lines: readonly LogLine[];
}

/**
 * Whether an argument names a release (`r-…`) rather than a service: a service may be named `r-…` too,
 * so an argument that is one of the API's services is that service.
 */
async function isReleaseId(api: ApiClient, value: string): Promise<boolean> {
  if (!value.startsWith('r-')) return false;
  const { services } = await api.get<{ services: { name: string }[] }>('services');
  return !services.some((s) => s.name === value);
}

/** The service named (exit 2 with the services there are when none is). */
async function serviceOf(api: ApiClient, service: string): Promise<{ name: string; activeRelease?: string }> {
  const { services } = await api.get<{ services: { name: string; activeRelease?: string }[] }>('services');
  const found = services.find((s) => s.name === service);
  if (!found) usage(`"${service}" is neither a release id (r-…) nor a service; services: ${services.map((s) => s.name).join(', ')}`);
  return found;
}

async function latestRelease(api: ApiClient, service: string): Promise<string> {
  const found = await serviceOf(api, service);
  if (found.activeRelease) return found.activeRelease;
  const { releases } = await api.get<{ releases: { id: string }[] }>('releases', { service, limit: 1 });
  const latest = releases[0]?.id;
  if (!latest) usage(`service ${service} has no release yet`);
  return latest;
}

export function logs(id: string, o: ApiOptions & { version?: string; follow?: boolean; grep?: string; limit?: string; interval?: string }): Promise<void> {
  if (o.version !== undefined && !['new', 'stable', 'switchyard'].includes(o.version))
    usage(`--version must be "new", "stable" or "switchyard" (Switchyard's own lines), got "${o.version}"`);
  return guarded(o, async () => {
    const api = client(o);
    const p = painter(o);
    const print = (page: LogPage) => {
      for (const l of page.lines) {
        if (o.json) out(`${terminalJson(l)}\n`);
        else out(logLine(l, p));
      }
      if (page.truncated && !o.json)
        process.stderr.write('older lines not read: the read stopped at its bound on bytes looked through (narrow it with --grep)\n');
    };
    // A service name stands for its active release, else its latest one.
    const release = (await isReleaseId(api, id)) ? id : await latestRelease(api, id);
    const ask = (since?: string) =>
      api.get<LogPage>(
        `releases/${encodeURIComponent(release)}/logs`,
        { version: o.version, grep: o.grep, limit: o.limit, since },
        { retryForMs: o.follow ? 60_000 : 5_000 },
      );
    let page = await ask();
    print(page);
    if (page.insights && !o.json) process.stderr.write(`full view: ${terminalText(page.insights)}\n`);
    if (!o.follow) return;
    const intervalMs = (parseDuration(o.interval ?? '1s') ?? 1) * 1000;
    let since = page.lines.at(-1)?.time;
    for (;;) {
      await new Promise((r) => setTimeout(r, intervalMs));
      page = await ask(since);
      print(page);
      since = page.lines.at(-1)?.time ?? since;
    }
  });
}

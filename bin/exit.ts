import { messageOf, NotFoundError, PermissionError, TransientError, ValidationError } from '../src/core/errors.js';
import { terminalText } from '../src/core/terminal-text.js';

/**
 * The exit codes of every `switchyard` command (also in `switchyard --help` and the README):
 * scripts and CI branch on them.
 */
export const ExitCode = {
  /** Done; for `wait` and `get --watch`, the release succeeded. */
  ok: 0,
  /** The release ended without shipping (rolled back, failed, cancelled, superseded), or a verify check failed. */
  unsuccessful: 1,
  /** Bad usage, options or config: nothing was sent. */
  usage: 2,
  /** Gave up waiting (`wait --timeout`). */
  timedOut: 3,
  /** The API refused the request (not found, not allowed, not in this phase, bad input). */
  refused: 4,
  /** The API could not be reached, or failed, after retries; or (wait, ci) it stopped answering about a release that goes on. */
  unreachable: 5,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0  done (wait, get --watch: the release succeeded)
  1  the release ended without shipping (rolled back, failed, cancelled, superseded), or a verify check failed
  2  bad usage, options or config; nothing was sent
  3  timed out waiting
  4  the API refused the request (not found, forbidden, conflict, invalid)
  5  the API could not be reached, or failed, after retries; or (wait, ci) it stopped
     answering about a release already found: it goes on, its outcome unknown`;

export function usage(message: string): never {
  // A usage message can quote what the API listed (service names) or a config file said: no control
  // character of it reaches the terminal; its own line breaks stay.
  process.stderr.write(`switchyard: ${terminalText(message, { newlines: 'keep' })}\n`);
  process.exit(ExitCode.usage);
}

/** The request's premise does not hold (no active release to act on): exits as the API's refusal does (4). */
export function refused(message: string): never {
  process.stderr.write(`switchyard: ${terminalText(message, { newlines: 'keep' })}\n`);
  process.exit(ExitCode.refused);
}

/**
 * Exits for an error of a command that reads AWS itself (init --from-ecs, diff): bad input 2, refused by
 * AWS (not found, not allowed) 4, throttled or unreachable 5. Anything else is rethrown.
 */
export function exitForError(error: unknown): never {
  if (error instanceof ValidationError) usage(error.message);
  process.stderr.write(`switchyard: ${terminalText(messageOf(error), { newlines: 'keep' })}\n`);
  if (error instanceof NotFoundError || error instanceof PermissionError) process.exit(ExitCode.refused);
  if (error instanceof TransientError) process.exit(ExitCode.unreachable);
  throw error;
}

import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createExclusive } from './exclusive-file.js';
import { assertPrivate, UnsafePathError } from './private-path.js';

/** The token file in a data directory. */
export const TOKEN_FILE = 'token';

/** Shorter than this is guessable: the same floor as people's own tokens. */
const MIN_TOKEN_LENGTH = 16;

/** The local API token kept in a data directory. */
export interface LocalToken {
  readonly token: string;
  /** True when this call created it (the CLI shows a new token once). */
  readonly created: boolean;
  /** `<dataDir>/token`. */
  readonly file: string;
}

const WHAT = 'the token file';

function readToken(file: string): string {
  const token = readFileSync(file, 'utf8').trim();
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new UnsafePathError(
      `${WHAT} ${file} holds no usable token (${MIN_TOKEN_LENGTH} or more characters without spaces); remove it (rm ${file}) to get a new one, and start again`,
    );
  }
  return token;
}

/**
 * The API token of the local mode, kept in `<dataDir>/token` (mode 0600) so it survives restarts:
 * scripts, the dashboard and the CLI keep working after Switchyard restarts. Created once from
 * 24 random bytes.
 *
 * @throws UnsafePathError when the file is open to other users (run `chmod 600`), belongs to another
 *   user, is a link or not a regular file, or holds no usable token: the message says what to run
 */
export function localToken(dataDir: string): LocalToken {
  const dir = resolve(dataDir);
  const file = join(dir, TOKEN_FILE);
  // Checked before it is read: a token others can read lets them release and roll back.
  if (assertPrivate(file, 'file', WHAT)) return { token: readToken(file), created: false, file };
  mkdirSync(dir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  // Of two starts creating it at once, one token wins (createExclusive never overwrites) and both use it.
  if (!createExclusive(file, `${token}\n`, 0o600)) {
    assertPrivate(file, 'file', WHAT);
    return { token: readToken(file), created: false, file };
  }
  return { token, created: true, file };
}

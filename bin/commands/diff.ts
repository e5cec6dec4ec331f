import { diffSubject, releaseDiff, releaseDiffText } from '../../src/composition/release-diff.js';
import { terminalText } from '../../src/core/terminal-text.js';
import { exitForError } from '../exit.js';
import { loadOrExit } from './local.js';

/** `switchyard diff <service> <image|task-definition.json>`: reads only, exit 0. */
export async function diff(service: string, what: string, o: { config: string; region?: string; json?: boolean }): Promise<void> {
  const config = await loadOrExit(o.config);
  try {
    const subject = await diffSubject(what);
    const result = await releaseDiff(config, service, subject, o.region ? { region: o.region } : {});
    // Task definitions and commands are the user's data: no control character reaches the terminal.
    process.stdout.write(o.json ? `${JSON.stringify(result, null, 2)}\n` : `${terminalText(releaseDiffText(result).join('\n'), { newlines: 'keep' })}\n`);
  } catch (error) {
    exitForError(error);
  }
}

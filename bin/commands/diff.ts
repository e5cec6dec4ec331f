import { readFile } from 'node:fs/promises';
import { releaseDiff, releaseDiffText, type DiffSubject } from '../../src/composition/release-diff.js';
import { messageOf } from '../../src/core/errors.js';
import { terminalText } from '../../src/core/terminal-text.js';
import { exitForError, usage } from '../exit.js';
import { loadOrExit } from './local.js';

/** A task definition file (`*.json`: RegisterTaskDefinition's input, or DescribeTaskDefinition's output), else an image. */
async function subjectOf(what: string): Promise<DiffSubject> {
  if (!what.endsWith('.json')) return { image: what };
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(what, 'utf8'));
  } catch (error) {
    usage(`${what}: could not read a task definition from it (${messageOf(error)}); pass a JSON file or an image`);
  }
  const inner = (parsed as { taskDefinition?: unknown } | null)?.taskDefinition ?? parsed;
  if (typeof inner !== 'object' || inner === null || !Array.isArray((inner as { containerDefinitions?: unknown }).containerDefinitions))
    usage(`${what}: not a task definition (it has no containerDefinitions list)`);
  return { file: what, taskDefinition: inner as Record<string, unknown> };
}

/** `switchyard diff <service> <image|task-definition.json>`: reads only, exit 0. */
export async function diff(service: string, what: string, o: { config: string; region?: string; json?: boolean }): Promise<void> {
  const config = await loadOrExit(o.config);
  const subject = await subjectOf(what);
  try {
    const result = await releaseDiff(config, service, subject, o.region ? { region: o.region } : {});
    // Task definitions and commands are the user's data: no control character reaches the terminal.
    process.stdout.write(o.json ? `${JSON.stringify(result, null, 2)}\n` : `${terminalText(releaseDiffText(result).join('\n'), { newlines: 'keep' })}\n`);
  } catch (error) {
    exitForError(error);
  }
}

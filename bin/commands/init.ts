import { writeFile } from 'node:fs/promises';
import { initFromEcs } from '../../src/composition/ecs-import.js';
import { LOCAL_SPEC_SYNTAX, localScaffold, parseLocalSpec, type LocalServiceSpec } from '../../src/config/init-local.js';
import type { Scaffold } from '../../src/config/scaffold.js';
import { messageOf } from '../../src/core/errors.js';
import { exitForError, usage } from '../exit.js';

export interface InitOptions {
  readonly local?: string[];
  readonly service?: string;
  readonly command?: string;
  readonly port?: string;
  readonly ready?: string;
  readonly fromEcs?: string;
  readonly name?: string;
  readonly region?: string;
  readonly out: string;
  readonly force?: boolean;
  readonly dryRun?: boolean;
}

/** The local services named on the command line: `--local` specs, or one service in flags. */
function localSpecs(o: InitOptions): LocalServiceSpec[] {
  const specs = (o.local ?? []).map(parseLocalSpec);
  const flags = [o.service, o.command, o.port].filter((v) => v !== undefined).length;
  if (flags === 0) return specs;
  if (flags < 3) usage(`--service, --command and --port go together (one local service; --ready is optional); or write --local ${LOCAL_SPEC_SYNTAX}`);
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) usage(`--port: must be a TCP port from 1 to 65535, got ${o.port}`);
  return [...specs, { name: o.service ?? '', command: o.command ?? '', port, ...(o.ready ? { ready: o.ready } : {}) }];
}

/**
 * `switchyard init`: a commented config for local services (`--local`, or `--service --command --port`)
 * or for an ECS service (`--from-ecs`), printed (`--dry-run`) or written to `--out` (never over a file
 * unless `--force`).
 */
export async function init(o: InitOptions): Promise<void> {
  const local = o.local !== undefined || o.service !== undefined || o.command !== undefined || o.port !== undefined;
  if (local === (o.fromEcs !== undefined))
    usage(
      `name what to write a config for: local services (--local ${LOCAL_SPEC_SYNTAX}, or --service, --command, --port) or an ECS service (--from-ecs <cluster>/<service>), not both`,
    );
  let scaffold: Scaffold;
  try {
    scaffold = local
      ? localScaffold(localSpecs(o))
      : await initFromEcs({ from: o.fromEcs ?? '', ...(o.region ? { region: o.region } : {}), ...(o.name ? { name: o.name } : {}) });
  } catch (error) {
    exitForError(error);
  }
  if (o.dryRun) {
    process.stdout.write(scaffold.text);
    return;
  }
  try {
    // 'wx' refuses an existing file in the same call that creates it: nothing is ever overwritten by accident.
    await writeFile(o.out, scaffold.text, { flag: o.force ? 'w' : 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') usage(`${o.out} already exists; nothing was written. Pass --force to replace it, or --out <file>`);
    usage(`could not write ${o.out}: ${messageOf(error)}`);
  }
  const todos = scaffold.todos.length;
  process.stdout.write(
    `Wrote ${o.out}${todos ? `: ${todos} line${todos === 1 ? '' : 's'} marked TODO(switchyard init) to check (grep -n 'TODO(switchyard init)' ${o.out})` : ''}\n` +
      `Next: npx switchyard validate --config ${o.out}${local ? `, then npx switchyard local --config ${o.out}` : `, then npx switchyard verify --config ${o.out}`}\n`,
  );
}

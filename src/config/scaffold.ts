import { formatPath } from '../core/plan.js';
import { resolveConfig } from './config.js';

/**
 * What `switchyard init` writes: a config object built as data, checked by the real resolver, then
 * printed as a commented `switchyard.config.ts`. The comments come from one table ({@link FIELD_NOTES}),
 * keyed by a field's place in a service, so every written file explains the same field the same way.
 * Pure: the facts come in (from the command line, or read from ECS by an adapter), text goes out.
 */

/** A value as a config file holds it. */
export type ConfigValue = string | number | boolean | readonly ConfigValue[] | { readonly [key: string]: ConfigValue | Disabled };

/**
 * A field written commented out: the file shows it (with what to fill in) but it does not count until
 * a person removes the `//`. Used where a required part is unknown, so a guess never validates silently.
 */
export class Disabled {
  constructor(readonly value: ConfigValue) {}
}

/** The marker on every line a person must look at: `grep -n 'TODO(switchyard init)'` lists them. */
export const TODO_MARK = 'TODO(switchyard init)';

/**
 * What each field of a service means, for a newcomer; keys are the field's path inside a service
 * (`target.command`). Written above the field, once per service.
 */
const FIELD_NOTES: Readonly<Record<string, string>> = {
  name: 'The name you release by: `switchyard release <name> <version or image>`.',
  'target.driver:local': 'local: Switchyard starts your processes itself, with its own proxy in front of them.',
  'target.driver:ecs': 'ecs: an ECS service on ECS native deployments; Switchyard holds ECS at every step it owns (docs/drivers.md).',
  'target.command':
    'How to start one process. Switchyard sets PORT (where the process must listen: not the public port below) and VERSION (the version released) in its environment.',
  'target.replicas': 'How many processes of each version run behind the proxy.',
  'target.port': 'The public port: the proxy listens here and shares requests between the versions.',
  'target.testPort': 'The test route: only the new version answers here, before it has any production traffic.',
  'target.readiness': 'A new process gets traffic only once GET <path> answers 2xx; it must within the timeout.',
  'target.drainTimeout': 'When a version is removed: how long its in-flight requests may take before its processes are stopped.',
  'target.initialVersion': 'The version started the first time, before any release (VERSION in its environment).',
  'target.cluster': 'The ECS cluster and service, as ECS names them.',
  'target.containerName': 'The container whose image a release replaces.',
  'target.targetGroups':
    'The production and alternate target groups (ARN suffixes, as CloudWatch names them): per-version load balancer metrics and the canary judge read them.',
  'target.family': 'The task definition family: the stack lets Switchyard register revisions of this family only.',
  'target.passRoles': "The only IAM roles Switchyard may pass to ECS (the task definition's task and execution roles).",
  'target.logGroup': "The containers' awslogs group: `switchyard logs`, the dashboard and approvals read it.",
  'target.maxUnavailable': 'Rolling: the share of tasks that may be below the desired count while tasks are replaced.',
  trigger: 'An image pushed to this ECR repository with a matching tag starts a release by itself.',
  strategy: 'How traffic moves to a new version (docs/configuration.md#strategies-and-plans).',
  gates: 'What is watched during every bake; a gate that fails rolls the release back (docs/configuration.md#gates).',
  'gates.alarms': 'CloudWatch alarms: ALARM during a bake rolls back.',
  'gates.metrics': "Metrics of the new version's traffic, measured by Switchyard's proxy (named like the load balancer's).",
  'gates.checkInterval': 'How often the gates are read.',
  'gates.onInconclusive': 'Too little traffic to decide, even after extending the bake: "fail" rolls back, "pause" asks a person.',
  approvals: 'Where a person must approve (before-traffic, after-first-step, before-finalize); none by default.',
};

/** Notes for one written file: TODOs at full paths (`services[0].target.targetGroups`). */
export interface ScaffoldNotes {
  readonly todos: ReadonlyMap<string, string>;
}

/** A generated config, ready to write: its text, and the TODOs a person must settle. */
export interface Scaffold {
  readonly text: string;
  /** The config the text holds, without its commented-out fields: what the loader will see. */
  readonly config: ConfigValue;
  readonly todos: readonly { readonly path: string; readonly text: string }[];
}

/** A string as a TypeScript literal, single-quoted like the rest of the project; control characters escaped. */
function literal(text: string): string {
  const escaped = text
    .replace(/\\/g, '\\\\')
    .replace(/'/g, "\\'")
    // eslint-disable-next-line no-control-regex -- what AWS returned may hold any character
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `'${escaped}'`;
}

/**
 * Text inside a comment: what AWS returned (alarm and container names) is data, so it can neither end
 * the comment (a line break, `*\/`) nor carry control characters into the file.
 */
function commentText(text: string): string {
  // eslint-disable-next-line no-control-regex -- what AWS returned may hold any character
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, ' ').replace(/\*\//g, '* /');
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (k: string) => (IDENTIFIER.test(k) ? k : literal(k));

/** The field's place inside a service, without indexes: `services[0].target.port` -> `target.port`. */
function fieldOf(path: readonly (string | number)[]): string | undefined {
  if (path[0] !== 'services' || typeof path[1] !== 'number') return undefined;
  return path
    .slice(2)
    .filter((p) => typeof p === 'string')
    .join('.');
}

function inline(value: ConfigValue): string {
  if (typeof value === 'string') return literal(value);
  if (typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  const entries = Object.entries(value).filter(([, v]) => !(v instanceof Disabled)) as [string, ConfigValue][];
  return entries.length === 0 ? '{}' : `{ ${entries.map(([k, v]) => `${key(k)}: ${inline(v)}`).join(', ')} }`;
}

const WIDTH = 110;

/** Whether a value (or anything inside it) carries a note, so it must be written over several lines. */
function annotated(value: ConfigValue | Disabled, path: readonly (string | number)[], notes: ScaffoldNotes, top: boolean): boolean {
  if (value instanceof Disabled) return true;
  const noted = typeof path.at(-1) === 'string' && FIELD_NOTES[fieldOf(path) ?? ''] !== undefined;
  if (!top && (notes.todos.has(formatPath(path)) || noted)) return true;
  if (typeof value !== 'object') return false;
  const children: [string | number, ConfigValue | Disabled][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return children.some(([k, v]) => annotated(v, [...path, k], notes, false));
}

/** A comment in lines of at most {@link WIDTH} characters, each with `prefix`. */
function wrap(text: string, prefix: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of commentText(text).split(' ')) {
    if (line !== '' && prefix.length + line.length + word.length + 1 > WIDTH) {
      lines.push(`${prefix}${line}`);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(`${prefix}${line}`);
  return lines;
}

function comments(path: readonly (string | number)[], value: ConfigValue | Disabled, notes: ScaffoldNotes, indent: string): string[] {
  // A list's items share the list's note, written once above the list.
  const field = typeof path.at(-1) === 'string' ? fieldOf(path) : undefined;
  const lines: string[] = [];
  const note =
    field === 'target.driver' && typeof value === 'string' ? FIELD_NOTES[`target.driver:${value}`] : field !== undefined ? FIELD_NOTES[field] : undefined;
  if (note) lines.push(...wrap(note, `${indent}// `));
  const todo = notes.todos.get(formatPath(path));
  if (todo) lines.push(...wrap(`${TODO_MARK}: ${todo}`, `${indent}// `));
  return lines;
}

/** Lines of `key: value,` (or array items) inside an object or array, each with its comments. */
function block(value: ConfigValue, path: readonly (string | number)[], notes: ScaffoldNotes, indent: string): string {
  const inner = `${indent}  `;
  const lines: string[] = [];
  const children: [string | number, ConfigValue | Disabled][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value as object);
  for (const [k, v] of children) {
    const at = [...path, k];
    lines.push(...comments(at, v, notes, inner));
    const prefix = typeof k === 'number' ? '' : `${key(k)}: `;
    if (v instanceof Disabled) {
      lines.push(...`${prefix}${render(v.value, at, notes, '')},`.split('\n').map((line) => `${inner}// ${line}`));
      continue;
    }
    lines.push(`${inner}${prefix}${render(v, at, notes, inner)},`);
  }
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return `${open}\n${lines.join('\n')}\n${indent}${close}`;
}

function render(value: ConfigValue, path: readonly (string | number)[], notes: ScaffoldNotes, indent: string): string {
  if (typeof value !== 'object') return inline(value);
  const short = inline(value);
  if (!annotated(value, path, notes, true) && indent.length + short.length < WIDTH) return short;
  return block(value, path, notes, indent);
}

/** The config object without its disabled fields: what the loader will see once the file is written. */
export function enabled(value: ConfigValue): ConfigValue {
  if (typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(enabled);
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => !(v instanceof Disabled))
      .map(([k, v]) => [k, enabled(v as ConfigValue)]),
  );
}

/**
 * A config file for `config`, commented: a header, each field's note, the TODOs. The config (without
 * its disabled fields) is checked by the real resolver first, so init never writes a file that fails
 * to load for a reason of its own making.
 * @throws {ConfigError} when the config is invalid (the facts given cannot make a valid service).
 */
export function renderConfigFile(config: { readonly [key: string]: ConfigValue | Disabled }, header: readonly string[], notes: ScaffoldNotes): Scaffold {
  const live = enabled(config);
  resolveConfig(live, 'the generated config');
  const body = block(config, [], notes, '');
  const text = [
    "import { defineConfig } from '@switchyard-release/switchyard';",
    '',
    '/**',
    ...header.map((line) => (line === '' ? ' *' : ` * ${commentText(line)}`)),
    ' */',
    `export default defineConfig(${body});`,
    '',
  ].join('\n');
  return { text, config: live, todos: [...notes.todos].map(([path, todo]) => ({ path, text: todo })) };
}

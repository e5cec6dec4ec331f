/**
 * What a release changes in the task definition, as people review it: one line per changed field,
 * with containers, environment variables, secrets and port mappings matched by name rather than by
 * position (a reordered list is not a change). Pure: both sides come in as plain JSON.
 */

/** One changed field: where, and its value before and after (absent: added or removed). */
export interface Change {
  readonly path: string;
  readonly before?: string;
  readonly after?: string;
}

/** Lists whose items are matched by a key field, so order does not count as a change. */
const KEYED: Readonly<Record<string, string>> = {
  containerDefinitions: 'name',
  environment: 'name',
  secrets: 'name',
  portMappings: 'containerPort',
  mountPoints: 'containerPath',
  volumes: 'name',
  ulimits: 'name',
  dependsOn: 'containerName',
  environmentFiles: 'value',
};

/** Fields the registry fills in or that only identify a revision: never part of what changed. */
const IGNORED = new Set(['taskDefinitionArn', 'revision', 'status', 'requiresAttributes', 'compatibilities', 'registeredAt', 'registeredBy', 'deregisteredAt']);

/** At most this many lines: a diff that long is a new service, and a message has limits (Slack: 50 blocks). */
export const MAX_CHANGES = 40;

type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

function show(value: Json): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function isObject(value: Json | undefined): value is { readonly [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function walk(path: string, field: string, before: Json | undefined, after: Json | undefined, out: Change[]): void {
  if (before === undefined && after === undefined) return;
  const key = KEYED[field];
  if (key && Array.isArray(before ?? []) && Array.isArray(after ?? [])) {
    const index = (list: readonly Json[]) => new Map(list.map((item, i) => [isObject(item) && item[key] !== undefined ? show(item[key]) : `#${i}`, item]));
    const b = index((before ?? []) as readonly Json[]);
    const a = index((after ?? []) as readonly Json[]);
    for (const name of new Set([...b.keys(), ...a.keys()])) walk(`${path}[${name}]`, '', b.get(name), a.get(name), out);
    return;
  }
  if (isObject(before) && isObject(after)) {
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (path === '' && IGNORED.has(k)) continue;
      walk(path === '' ? k : `${path}.${k}`, k, before[k], after[k], out);
    }
    return;
  }
  if (before !== undefined && after !== undefined && show(before) === show(after)) return;
  out.push({ path, ...(before !== undefined ? { before: show(before) } : {}), ...(after !== undefined ? { after: show(after) } : {}) });
}

/**
 * The fields that differ between the running task definition and the one a release registers.
 * @example
 * diffTaskDefinitions({ containerDefinitions: [{ name: 'app', environment: [{ name: 'MODE', value: 'a' }] }] },
 *                     { containerDefinitions: [{ name: 'app', environment: [{ name: 'MODE', value: 'b' }] }] })
 * // [{ path: 'containerDefinitions[app].environment[MODE].value', before: 'a', after: 'b' }]
 */
export function diffTaskDefinitions(before: unknown, after: unknown): Change[] {
  const out: Change[] = [];
  walk('', '', before as Json, after as Json, out);
  return out.slice(0, MAX_CHANGES);
}

/** One line of a diff for people: `path: before → after`. */
export function formatChange(change: Change): string {
  if (change.before === undefined) return `+ ${change.path}: ${change.after ?? ''}`;
  if (change.after === undefined) return `- ${change.path}: ${change.before}`;
  return `~ ${change.path}: ${change.before} → ${change.after}`;
}

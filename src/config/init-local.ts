import { ValidationError } from '../core/errors.js';
import { renderConfigFile, TODO_MARK, type ConfigValue, type Scaffold } from './scaffold.js';

/**
 * `switchyard init --local`: a commented config for local services the user names. One service is
 * written `name=command:port[:/readiness-path]`, for example `api=node server.js:8080:/healthz` (the
 * command may hold colons: the port and path are read from the end).
 */

/** One local service as the user described it. */
export interface LocalServiceSpec {
  readonly name: string;
  readonly command: string;
  readonly port: number;
  /** The readiness path; left out: `/ready`, marked for the user to check. */
  readonly ready?: string;
}

export const LOCAL_SPEC_SYNTAX = 'name=command:port[:/readiness-path], for example api=node server.js:8080:/healthz';

const SPEC = /^([^=]+)=(.+):(\d{1,5})(?::(\/\S*))?$/;

/**
 * Reads one `name=command:port[:/path]` argument.
 * @throws {ValidationError} naming the argument, what is wrong and the syntax.
 * @example parseLocalSpec('api=node server.js:8080:/healthz') // { name: 'api', command: 'node server.js', port: 8080, ready: '/healthz' }
 */
export function parseLocalSpec(text: string): LocalServiceSpec {
  const match = SPEC.exec(text.trim());
  if (!match) {
    const hint = !text.includes('=')
      ? 'it has no "=" between the name and the command'
      : /:\d+(:\/\S*)?$/.test(text)
        ? 'the command is empty'
        : 'it does not end with :<port> or :<port>:/<readiness path>';
    throw new ValidationError(`--local "${text}": ${hint}; write ${LOCAL_SPEC_SYNTAX}`);
  }
  const [, name = '', command = '', port = '', ready] = match;
  return { name: name.trim(), command: command.trim(), port: Number(port), ...(ready ? { ready } : {}) };
}

/** The smallest port above `port` that no service uses yet (the test route of a service). */
function freeAbove(port: number, used: Set<number>): number | undefined {
  for (let p = port + 1; p <= 65535; p++) if (!used.has(p)) return p;
  return undefined;
}

/**
 * The commented config for local services: each behind the built-in proxy on its port, a test route on
 * the next free port, a canary with short bakes and the proxy's own error and latency gates.
 * @throws {ConfigError} when a spec cannot make a valid service (the message names services[i] and the field).
 */
export function localScaffold(specs: readonly LocalServiceSpec[]): Scaffold {
  if (specs.length === 0) throw new ValidationError(`name at least one service: --local ${LOCAL_SPEC_SYNTAX} (or --service, --command, --port)`);
  const used = new Set(specs.map((s) => s.port));
  const todos = new Map<string, string>();
  const services = specs.map((spec, i): ConfigValue => {
    const testPort = freeAbove(spec.port, used);
    if (testPort !== undefined) used.add(testPort);
    if (!spec.ready)
      todos.set(
        `services[${i}].target.readiness`,
        "the path your service answers 2xx on once it can serve (no --local path was given, so it is Switchyard's default /ready)",
      );
    return {
      name: spec.name,
      target: {
        driver: 'local',
        command: spec.command,
        replicas: 1,
        port: spec.port,
        ...(testPort !== undefined ? { testPort } : {}),
        readiness: { path: spec.ready ?? '/ready', timeout: '30s' },
        drainTimeout: '10s',
        initialVersion: 'v1',
      },
      strategy: {
        type: 'canary',
        steps: [
          { percent: 10, bake: '1m' },
          { percent: 50, bake: '1m' },
        ],
        finalBake: '1m',
      },
      gates: {
        metrics: [
          { name: 'error-rate', metric: 'ErrorRate', statistic: 'Average', comparison: 'GreaterThanThreshold', threshold: 5, period: '10s', minSamples: 10 },
          {
            name: 'latency-p99',
            metric: 'TargetResponseTime',
            statistic: 'p99',
            comparison: 'GreaterThanThreshold',
            threshold: 1,
            period: '10s',
            minSamples: 10,
          },
        ],
        checkInterval: '5s',
        onInconclusive: 'fail',
      },
      approvals: { at: [] },
    };
  });
  return renderConfigFile(
    { environment: 'local', services },
    [
      `Written by \`switchyard init\`. Lines marked ${TODO_MARK} need a look.`,
      'Check it with `npx switchyard validate`; run it with `npx switchyard local`; release with',
      '`npx switchyard release <name> <version>` (the version is passed to your processes as VERSION).',
      'Every field: docs/configuration.md.',
    ],
    { todos },
  );
}

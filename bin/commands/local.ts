import { messageOf } from '../../src/core/errors.js';
import { ConfigError, type SwitchyardConfig } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load.js';
import type { RecordedCall } from '../../src/composition/aws-verify.js';
import { dryRunRelease, verifyTargets } from '../../src/composition/aws-verify.js';
import { formatDuration } from '../../src/core/duration.js';
import { terminalText } from '../../src/core/terminal-text.js';
import { runDemoRelease, startLoad } from '../../src/local/demo.js';
import { startDemoReceivers, type SmokeReceiver } from '../../src/local/smoke-receiver.js';
import { LOCAL_DEFAULTS, startLocalMode } from '../../src/composition/local-mode.js';
import { watchReleases } from '../../src/local/progress.js';
import { ExitCode, usage } from '../exit.js';

/** The commands that read the config file: local, validate, verify and release --dry-run (loaded only when run). */

export async function loadOrExit(file: string): Promise<SwitchyardConfig> {
  try {
    return await loadConfig(file);
  } catch (error) {
    if (error instanceof ConfigError) usage(error.message);
    throw error;
  }
}

export async function validate(file: string, json: boolean): Promise<void> {
  const loaded = await loadOrExit(file);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ file, valid: true, services: loaded.services.map((s) => ({ name: s.name, driver: s.target.driver, strategy: s.plan.strategy, plan: s.plan.steps })) }, null, 2)}\n`,
    );
    return;
  }
  for (const s of loaded.services) {
    const steps = s.plan.steps.map((step) =>
      step.type === 'setWeight'
        ? `${step.percent}%`
        : step.type === 'bake' || step.type === 'analysis'
          ? `${step.type} ${formatDuration(step.seconds)}`
          : step.type === 'approval'
            ? `approval (${step.label}, ${formatDuration(step.timeoutSeconds)})`
            : step.type,
    );
    process.stdout.write(`${s.name} (${s.target.driver}, ${s.plan.strategy}): ${steps.join(' -> ')}\n`);
  }
  process.stdout.write(`${file}: ${loaded.services.length} service(s), valid\n`);
}

export async function verify(file: string, options: { service?: string; dryRun?: boolean; json?: boolean }): Promise<void> {
  const loaded = await loadOrExit(file);
  const calls: RecordedCall[] = [];
  const dryRun = Boolean(options.dryRun);
  const results = await verifyTargets(loaded, { ...(options.service ? { service: options.service } : {}), dryRun, calls }).catch((error: unknown) =>
    usage(messageOf(error)),
  );
  if (dryRun) {
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ dryRun: true, calls }, null, 2)}\n`);
      return;
    }
    process.stdout.write('dry run: nothing is sent. verify would call, in order:\n');
    for (const call of calls) process.stdout.write(`  ${call.service} ${call.command} ${JSON.stringify(call.input)}\n`);
    process.stdout.write('(calls that need an earlier answer, such as the current task definition, follow from these answers)\n');
    return;
  }
  const failed = results.filter((r) => r.checks.some((c) => !c.ok)).length;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ results }, null, 2)}\n`);
  } else {
    for (const result of results) {
      process.stdout.write(`${result.service} (${result.driver})\n`);
      if (result.checks.length === 0) process.stdout.write('  nothing to check on AWS for this driver\n');
      for (const check of result.checks) process.stdout.write(`  ${check.ok ? '✓' : '✗'} ${check.name}: ${check.detail}\n`);
    }
    process.stdout.write(`${results.length} service(s) checked${failed ? `, ${failed} with problems` : ', all ready'}\n`);
  }
  process.exit(failed ? ExitCode.unsuccessful : ExitCode.ok);
}

export async function dryRun(file: string, service: string, image: string, json: boolean): Promise<void> {
  const loaded = await loadOrExit(file);
  const calls = await dryRunRelease(loaded, service, image).catch((error: unknown) => usage(messageOf(error)));
  if (json) {
    process.stdout.write(`${JSON.stringify({ dryRun: true, wouldChange: calls.filter((c) => !c.sent), read: calls.filter((c) => c.sent) }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`dry run: starting a release of ${image} for ${service} would make these calls that change something (none was made):\n`);
  for (const call of calls.filter((c) => !c.sent)) process.stdout.write(`  ${call.service} ${call.command} ${JSON.stringify(call.input)}\n`);
  process.stdout.write(
    `and read with: ${
      calls
        .filter((c) => c.sent)
        .map((c) => `${c.service} ${c.command}`)
        .join(', ') || 'nothing'
    }\n`,
  );
  process.stdout.write('then the workflow waits for the new version to be ready and shifts traffic as the plan says.\n');
}

/** The demo's next version after `stable`: v1 -> v2, v7 -> v8 (a healthy version of the demo service). */
export function nextDemoVersion(stable: string): string {
  const n = /^v(\d+)/.exec(stable)?.[1];
  return `v${n === undefined ? 2 : Number(n) + 1}`;
}

export interface LocalOptions {
  readonly port?: string;
  readonly dataDir?: string;
  readonly inMemory?: boolean;
  readonly demo?: boolean;
  /** SIGTERM lets the data planes go on serving (a restart of Switchyard under systemd). */
  readonly keepServing?: boolean;
  /** The data plane of every local service whose config names none. */
  readonly dataPlane?: 'builtin' | 'haproxy';
}

export async function local(file: string, options: LocalOptions): Promise<void> {
  const config = await loadOrExit(file);
  const portText = options.port ?? process.env['SWITCHYARD_PORT'];
  const port = portText === undefined ? LOCAL_DEFAULTS.apiPort : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`--port must be a port number from 0 to 65535, got "${portText}"`);
  const demo = options.demo === true;
  // A reader that went away (`npm start | tee log`, then Ctrl-C kills tee first) must not abort the
  // shutdown with EPIPE and orphan the services: output stops, the work goes on.
  let readerGone = false;
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') readerGone = true;
      else throw error;
    });
  // What local mode prints quotes what versions sent (the x-version header in the demo's summary) and
  // warnings: no control character reaches the terminal; Switchyard's own line breaks stay.
  const write = (line: string) => {
    if (!readerGone) process.stdout.write(`${terminalText(line, { newlines: 'keep' })}\n`);
  };

  write('Starting Switchyard (local mode)…');
  // The demo's webhook gate needs someone to answer it: a smoke test of the test route, in this process.
  // `--no-demo` (`npm start -- --no-demo`: the demo's stack without its release) answers it too, or every
  // release a newcomer then starts would roll back on an unset secret. Without either flag it stays the
  // user's own gate: Switchyard never answers it for them.
  const receivers: SmokeReceiver[] =
    options.demo !== undefined
      ? await startDemoReceivers(config).catch((error: unknown) => usage(`the demo's smoke-test receiver could not start: ${messageOf(error)}`))
      : [];
  const mode = await startLocalMode({
    config,
    port,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.inMemory ? { inMemory: true } : {}),
    ...(options.dataPlane ? { dataPlane: options.dataPlane === 'haproxy' ? { type: 'haproxy', binary: 'haproxy' } : { type: 'builtin' } } : {}),
    ...(process.env['SWITCHYARD_TOKEN'] ? { token: process.env['SWITCHYARD_TOKEN'] } : {}),
    slack: {
      ...(process.env['SLACK_SIGNING_SECRET'] ? { signingSecret: process.env['SLACK_SIGNING_SECRET'] } : {}),
      ...(process.env['SLACK_BOT_TOKEN'] ? { botToken: process.env['SLACK_BOT_TOKEN'] } : {}),
      ...(process.env['SWITCHYARD_SLACK_API_URL'] ? { apiUrl: process.env['SWITCHYARD_SLACK_API_URL'] } : {}),
    },
    onWarning: (m) => write(`! ${m}`),
  }).catch((error: unknown) => usage(messageOf(error)));

  write(`API        ${mode.apiUrl}   (OpenAPI: ${mode.apiUrl}/openapi.json)`);
  write(`Dashboard  ${mode.apiUrl}/ui   (sign in with the token below)`);
  write(
    `Token      ${
      process.env['SWITCHYARD_TOKEN']
        ? '(from SWITCHYARD_TOKEN)'
        : mode.tokenFile
          ? `${mode.token}   (${mode.tokenGenerated ? 'generated and ' : ''}kept in ${mode.tokenFile} across restarts; set SWITCHYARD_TOKEN to choose one)`
          : `${mode.token}   (generated for this run; set SWITCHYARD_TOKEN to choose one)`
    }`,
  );
  for (const [name, target] of mode.targets) {
    write(
      `Service    ${name}: http://127.0.0.1:${target.proxy.productionPort}/ ${target.proxy.testPortBound ? `(test route http://127.0.0.1:${target.proxy.testPortBound}/) ` : ''}serving ${target.stableVersion}`,
    );
  }
  for (const r of receivers) write(`Webhook    ${r.url}   (the demo's smoke test of the test route, signed with a secret made for this run)`);
  write(
    `Slack      ${mode.slack ? `on: messages in the services' channels, buttons at ${mode.apiUrl}/slack/interactions` : 'off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, and notifications.slack.channel per service)'}`,
  );
  write(`Data       ${mode.dataDir}${options.inMemory ? ' (temporary)' : ''}; logs in ${mode.logFile} and ${mode.dataDir}/logs/`);

  let shuttingDown = false;
  const stopWatching = watchReleases(mode.runtime.deps.store, write);
  let load: ReturnType<typeof startLoad> | undefined;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    const keep = signal === 'SIGTERM' && options.keepServing === true && !options.inMemory;
    write(keep ? `\n${signal}: stopping Switchyard; the services keep serving…` : `\n${signal}: draining and stopping…`);
    await load?.stop();
    await stopWatching();
    await Promise.all(receivers.map((r) => r.close()));
    if (keep) await mode.detach();
    else await mode.stop();
    write(
      keep
        ? `Stopped. The services' data planes keep serving; start Switchyard again with the same data directory (${mode.dataDir}) to re-attach.`
        : 'Stopped. No process left running.',
    );
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const [first] = mode.services;
  if (demo && first) {
    load = startLoad(mode, first.name);
    // With a kept data directory the service may already serve v2 (or later): release the next version.
    const from = mode.targets.get(first.name)?.stableVersion ?? 'v1';
    const to = nextDemoVersion(from);
    write(`\nDemo: releasing ${first.name} ${from} -> ${to} (${first.plan.strategy}) under ~40 requests/s of synthetic load\n`);
    const summary = await runDemoRelease(mode, first.name, to, load, (id) =>
      write(`         (the demo approves, as you would with: npx switchyard approve ${id})`),
    );
    if (shuttingDown) return;
    write(
      `\nSummary    ${summary.release.phase} in ${(summary.durationMs / 1000).toFixed(1)}s; ${summary.requests} requests served, ${summary.failed} failed; p50 ${summary.p50Ms?.toFixed(1)} ms, p99 ${summary.p99Ms?.toFixed(1)} ms`,
    );
    write(
      `           served by: ${[...summary.servedBy]
        .filter(([, n]) => n > 0)
        .map(([v, n]) => `${v} ${n}`)
        .join(', ')}`,
    );
    const target = mode.targets.get(first.name);
    const auth = `-H "Authorization: Bearer ${mode.token}"`;
    const n = Number(/^v(\d+)/.exec(to)?.[1] ?? 2);
    write(`\nStill serving (synthetic load continues). Try next, in another terminal:
  export SWITCHYARD_API=${mode.apiUrl} SWITCHYARD_TOKEN=${mode.token}
  # a faulty version: the gates catch its 500s and roll it back
  npx switchyard release ${first.name} v${n + 1}-faulty
  # a healthy version: it waits for your approval before the old version is removed
  npx switchyard release ${first.name} v${n + 2}
  npx switchyard list
  npx switchyard get <id> --watch
  npx switchyard approve <id>          (or reject, promote, rollback; -m "why")
  npx switchyard undo ${first.name}            (after a release succeeded: straight back to the version before)
  curl -s http://127.0.0.1:${target?.proxy.productionPort}/
  (the same over HTTP: curl -s -X POST ${mode.apiUrl}/releases ${auth} -H 'content-type: application/json' -d '{"service":"${first.name}","image":"v${n + 2}"}')
Ctrl-C stops everything.`);
  } else {
    write(
      `\nReady. Start a release with \`npx switchyard release <service> <image>\` (SWITCHYARD_API=${mode.apiUrl}) or POST /releases; progress appears here. Ctrl-C stops everything.`,
    );
  }
}

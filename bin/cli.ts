import { messageOf } from '../src/core/errors.js';
import { parseArgs } from 'node:util';
import { ConfigError } from '../src/config/config.js';
import { loadConfig } from '../src/config/load.js';
import { apiRequest, waitForRelease } from '../src/cli/wait.js';
import type { RecordedCall } from '../src/composition/aws-verify.js';
import { dryRunRelease, verifyTargets } from '../src/composition/aws-verify.js';
import { formatDuration, parseDuration } from '../src/core/duration.js';
import { runDemoRelease, startLoad } from '../src/local/demo.js';
import { LOCAL_DEFAULTS, startLocalMode } from '../src/composition/local-mode.js';
import { watchReleases } from '../src/local/progress.js';

const HELP = `switchyard: progressive releases for container services

Usage:
  switchyard local [options]     run Switchyard on this machine: API, workflow engine, store, proxy, services
  switchyard validate [options]  check a config file and print each service's plan
  switchyard wait [options]      wait for a release's outcome (for CI): exit 0 succeeded, 1 rolled back
                                 or failed, 3 timed out
  switchyard verify [options]    pre-flight checks of the AWS services against live AWS, read-only:
                                 exit 0 all pass, 1 a check failed, 2 bad config or options
  switchyard release <service> <image> [options]
                                 start a release through the API (--api); with --dry-run, print every
                                 AWS call starting it would make, with its exact input, and make none
  switchyard --help

Options:
  --config <file>     config file (default: switchyard.config.ts)
  --port <port>       API port (default: ${LOCAL_DEFAULTS.apiPort}, or SWITCHYARD_PORT)
  --data-dir <dir>    where the store and process logs live (default: ${LOCAL_DEFAULTS.dataDir}/)
  --in-memory         keep nothing: store in memory, logs in a temporary folder
  --demo              run the demo: a canary release of the first service to v2 under synthetic load
  --no-demo           start the stack without the demo release (what \`npm start -- --no-demo\` does)
  -h, --help          show this help

Options of wait:
  --api <url>         the Switchyard API (the ApiUrl output of the stack, or http://127.0.0.1:8787)
  --service <name>    the service released
  --digest <sha256:…> find the release of this image digest (what CI knows after pushing)
  --release <id>      or wait for this release id
  --timeout <dur>     give up after this long (default 60m)
  --token <token>     local mode's bearer token; without it requests are signed with AWS SigV4
                      (credentials from the environment, region from AWS_REGION or --region)

Options of verify and release --dry-run (AWS credentials and region from the environment):
  --service <name>    verify only this service
  --dry-run           verify: send nothing, print each call with its input; release: print the calls
                      that would change something instead of making them (reads are made)

Environment:
  SWITCHYARD_TOKEN    bearer token for mutating API calls (generated and printed when unset)
  SWITCHYARD_PORT     API port
  SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET
                      turn Slack on in local mode (messages, buttons at /slack/interactions)
  SWITCHYARD_SLACK_API_URL
                      Slack Web API base URL (default https://slack.com/api/), for proxies and tests

Examples:
  npm start                                          the demo
  npx switchyard local --config switchyard.config.ts your own services
  npx switchyard validate --config examples/aws/switchyard.config.ts
`;

function fail(message: string): never {
  process.stderr.write(`switchyard: ${message}\n`);
  process.exit(2);
}

export async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        'in-memory': { type: 'boolean' },
        demo: { type: 'boolean' },
        'no-demo': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        api: { type: 'string' },
        service: { type: 'string' },
        digest: { type: 'string' },
        release: { type: 'string' },
        timeout: { type: 'string' },
        token: { type: 'string' },
        region: { type: 'string' },
        'dry-run': { type: 'boolean' },
      },
    });
  } catch (error) {
    fail(`${messageOf(error)}\nRun \`switchyard --help\` for the options.`);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (command === 'wait') {
    const { api, service, digest, release, token, region } = values;
    if (!api || !service || (!digest && !release)) fail('wait needs --api, --service and --digest or --release (see --help)');
    const timeout = parseDuration(values.timeout ?? '60m');
    if (timeout === undefined) fail(`--timeout must be a duration such as "30m", got "${values.timeout}"`);
    const result = await waitForRelease({
      api,
      service,
      ...(digest ? { digest } : {}),
      ...(release ? { releaseId: release } : {}),
      ...((token ?? process.env['SWITCHYARD_TOKEN']) ? { token: token ?? process.env['SWITCHYARD_TOKEN'] } : {}),
      ...(region ? { region } : {}),
      timeoutMs: timeout * 1000,
      log: (line) => process.stdout.write(`${line}\n`),
    }).catch((error: unknown) => fail(messageOf(error)));
    if (result.exitCode === 3) process.stdout.write(`timed out waiting for ${result.releaseId ?? 'the release'}\n`);
    else process.stdout.write(`release ${result.releaseId} ${result.phase}${result.reason ? `: ${result.reason}` : ''}\n`);
    process.exit(result.exitCode);
  }
  if (command === 'release' && !values['dry-run']) {
    const [, service, image] = positionals;
    if (!service || !image || !values.api) fail('release needs <service> <image> and --api (or --dry-run); see --help');
    const token = values.token ?? process.env['SWITCHYARD_TOKEN'];
    const release = (await apiRequest(
      'POST',
      new URL('releases', `${values.api.replace(/\/?$/, '/')}`),
      { ...(token ? { token } : {}), ...(values.region ? { region: values.region } : {}) },
      { service, image },
    ).catch((error: unknown) => fail(messageOf(error)))) as { id: string; phase: string };
    process.stdout.write(`release ${release.id} of ${service} started: ${release.phase}\n`);
    return;
  }
  if (!['local', 'validate', 'verify', 'release'].includes(command))
    fail(`unknown command "${command}"; use "local", "validate", "verify", "release" or "wait" (see --help)`);
  const configFile = values.config ?? 'switchyard.config.ts';
  let config;
  try {
    config = await loadConfig(configFile);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  if (command === 'verify') {
    const calls: RecordedCall[] = [];
    const dryRun = Boolean(values['dry-run']);
    const results = await verifyTargets(config, { ...(values.service ? { service: values.service } : {}), dryRun, calls }).catch((error: unknown) =>
      fail(messageOf(error)),
    );
    if (dryRun) {
      process.stdout.write('dry run: nothing is sent. verify would call, in order:\n');
      for (const call of calls) process.stdout.write(`  ${call.service} ${call.command} ${JSON.stringify(call.input)}\n`);
      process.stdout.write('(calls that need an earlier answer, such as the current task definition, follow from these answers)\n');
      return;
    }
    let failed = 0;
    for (const result of results) {
      process.stdout.write(`${result.service} (${result.driver})\n`);
      if (result.checks.length === 0) process.stdout.write('  nothing to check on AWS for this driver\n');
      for (const check of result.checks) process.stdout.write(`  ${check.ok ? '✓' : '✗'} ${check.name}: ${check.detail}\n`);
      if (result.checks.some((c) => !c.ok)) failed++;
    }
    process.stdout.write(`${results.length} service(s) checked${failed ? `, ${failed} with problems` : ', all ready'}\n`);
    process.exit(failed ? 1 : 0);
  }
  if (command === 'release') {
    const [, service, image] = positionals;
    if (!service || !image) fail('release needs <service> <image>; see --help');
    const calls = await dryRunRelease(config, service, image).catch((error: unknown) => fail(messageOf(error)));
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
    return;
  }
  if (command === 'validate') {
    for (const s of config.services) {
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
    process.stdout.write(`${configFile}: ${config.services.length} service(s), valid\n`);
    return;
  }

  const portText = values.port ?? process.env['SWITCHYARD_PORT'];
  const port = portText === undefined ? LOCAL_DEFAULTS.apiPort : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number from 0 to 65535, got "${portText}"`);
  const demo = Boolean(values.demo) && !values['no-demo'];
  const write = (line: string) => process.stdout.write(`${line}\n`);

  write('Starting Switchyard (local mode)…');
  const mode = await startLocalMode({
    config,
    port,
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
    ...(values['in-memory'] ? { inMemory: true } : {}),
    ...(process.env['SWITCHYARD_TOKEN'] ? { token: process.env['SWITCHYARD_TOKEN'] } : {}),
    slack: {
      ...(process.env['SLACK_SIGNING_SECRET'] ? { signingSecret: process.env['SLACK_SIGNING_SECRET'] } : {}),
      ...(process.env['SLACK_BOT_TOKEN'] ? { botToken: process.env['SLACK_BOT_TOKEN'] } : {}),
      ...(process.env['SWITCHYARD_SLACK_API_URL'] ? { apiUrl: process.env['SWITCHYARD_SLACK_API_URL'] } : {}),
    },
    onWarning: (m) => write(`! ${m}`),
  }).catch((error: unknown) => fail(messageOf(error)));

  write(`API        ${mode.apiUrl}   (OpenAPI: ${mode.apiUrl}/openapi.json)`);
  write(`Token      ${mode.tokenGenerated ? `${mode.token}   (generated; set SWITCHYARD_TOKEN to choose one)` : '(from SWITCHYARD_TOKEN)'}`);
  for (const [name, target] of mode.targets) {
    write(
      `Service    ${name}: http://127.0.0.1:${target.proxy.productionPort}/ ${target.proxy.testPortBound ? `(test route http://127.0.0.1:${target.proxy.testPortBound}/) ` : ''}serving ${target.stableVersion}`,
    );
  }
  write(
    `Slack      ${mode.slack ? `on: messages in the services' channels, buttons at ${mode.apiUrl}/slack/interactions` : 'off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, and notifications.slack.channel per service)'}`,
  );
  write(`Data       ${mode.dataDir}${values['in-memory'] ? ' (temporary)' : ''}; logs in ${mode.logFile} and ${mode.dataDir}/logs/`);

  let shuttingDown = false;
  const stopWatching = watchReleases(mode.runtime.deps.store, write);
  let load: ReturnType<typeof startLoad> | undefined;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    write(`\n${signal}: draining and stopping…`);
    await load?.stop();
    await stopWatching();
    await mode.stop();
    write('Stopped. No process left running.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const [first] = mode.services;
  if (demo && first) {
    load = startLoad(mode, first.name);
    write(`\nDemo: releasing ${first.name} v1 -> v2 (${first.plan.strategy}) under ~40 requests/s of synthetic load\n`);
    const summary = await runDemoRelease(mode, first.name, 'v2', load, (id) =>
      write(`         (the demo approves, as: curl -X POST ${mode.apiUrl}/releases/${id}/approve -H "Authorization: Bearer <token>")`),
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
    write(`\nStill serving (synthetic load continues). Try next:
  # a faulty version: the gates catch its 500s and roll it back
  curl -s -X POST ${mode.apiUrl}/releases ${auth} -H 'content-type: application/json' -d '{"service":"${first.name}","image":"v3-faulty"}'
  # a healthy version: it waits for your approval before the old version is removed
  curl -s -X POST ${mode.apiUrl}/releases ${auth} -H 'content-type: application/json' -d '{"service":"${first.name}","image":"v4"}'
  curl -s '${mode.apiUrl}/releases?service=${first.name}&limit=5'
  curl -s -X POST ${mode.apiUrl}/releases/<id>/approve ${auth} -H 'X-Switchyard-Actor: you'
  curl -s -X POST ${mode.apiUrl}/releases/<id>/rollback ${auth}
  curl -s http://127.0.0.1:${target?.proxy.productionPort}/
Ctrl-C stops everything.`);
  } else {
    write('\nReady. Start a release with POST /releases; progress appears here. Ctrl-C stops everything.');
  }
}

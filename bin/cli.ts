import { Argument, Command, Option } from 'commander';
import { createRequire } from 'node:module';
import { EXIT_CODES_HELP, usage } from './exit.js';

// Every command's implementation is imported only when that command runs: `--help` and `validate`
// do not load the API client, the AWS SDK or local mode.
const apiCommands = () => import('./commands/api.js');
const configCommands = () => import('./commands/local.js');
const probeCommand = () => import('./commands/probe.js');
const completionCommand = () => import('./commands/completion.js');
const initCommand = () => import('./commands/init.js');
const diffCommand = () => import('./commands/diff.js');

// The package's own package.json, from the sources (bin/) as from the compiled CLI (dist/bin/).
const version = (createRequire(import.meta.url)('@switchyard-release/switchyard/package.json') as { version: string }).version;

/** The options of every command that talks to the API. */
function withApi(command: Command): Command {
  return command
    .addOption(
      new Option('--api <url>', 'the Switchyard API: local mode, or the ApiUrl output of the stack').env('SWITCHYARD_API').default('http://127.0.0.1:8787'),
    )
    .addOption(new Option('--token <token>', "local mode's bearer token (printed at start)").env('SWITCHYARD_TOKEN'))
    .addOption(new Option('--jwt <jwt>', 'a JWT, for an API deployed with the JWT authorizer').env('SWITCHYARD_JWT'))
    .option('--region <region>', 'sign with AWS SigV4 in this region (IAM authorizer; default AWS_REGION), with the credentials of the environment')
    .addOption(new Option('--as <person>', 'local mode: the person you act as (your token must be allowed to act as them)').env('SWITCHYARD_ACTOR'))
    .option('--json', 'print JSON instead of text')
    .option('--no-color', 'no colour (also when NO_COLOR is set, or the output is not a terminal)');
}

/**
 * What people type from other release tools (`kubectl rollout status`), and the Switchyard command that
 * does it: an unknown command named here is answered with its Switchyard name. Argo's `abort` is a
 * working alias of rollback (see program()).
 */
export const OTHER_NAMES: Readonly<Record<string, string>> = {
  cancel: 'rollback <id> (a queued release is cancelled by it)',
  status: 'get <release|service> (one release, --watch to follow it) or list (recent releases)',
  show: 'get <release|service>',
  describe: 'get <release|service>',
};

const configOption = () => new Option('--config <file>', 'config file').default('switchyard.config.ts');

export function program(): Command {
  const cli = new Command('switchyard')
    .description('progressive releases for container services: blue/green, canary, linear, gated and steerable')
    .version(version, '-v, --version')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `\n${EXIT_CODES_HELP}\n\nExamples:\n  npm start                                   the demo\n  switchyard init --local 'api=node server.js:8080:/healthz'\n  switchyard local --config switchyard.config.ts\n  switchyard get r-mf3k2a1b-9c4d --watch\n  switchyard rollback r-mf3k2a1b-9c4d -m "error budget"`,
    )
    .exitOverride((error) => {
      // commander's own exits: help and version are fine (0), anything else is a usage error (2).
      process.exit(error.exitCode === 0 ? 0 : 2);
    });
  // An unknown command: its Switchyard name when it is another tool's word, else commander's own suggestion.
  cli.on('command:*', (operands: string[]) => {
    const name = operands[0] ?? '';
    const ours = Object.hasOwn(OTHER_NAMES, name) ? OTHER_NAMES[name] : undefined;
    if (ours !== undefined) cli.error(`error: unknown command '${name}'\n(Did you mean switchyard ${ours}?)`, { code: 'commander.unknownCommand' });
    (cli as unknown as { unknownCommand(): void }).unknownCommand();
  });

  cli
    .command('dashboard')
    .description('the dashboard for Switchyard on AWS, served on this machine; its API calls are signed with your AWS credentials (SigV4)')
    .addOption(new Option('--api <url>', 'the ApiUrl output of the stack').env('SWITCHYARD_API').makeOptionMandatory())
    .option('--region <region>', 'the API’s region (default AWS_REGION)')
    .addOption(new Option('--port <port>', 'local port (default 8788)').default('8788'))
    .action(async (o: { api: string; region?: string; port: string }) => {
      const region = o.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'];
      if (!region) usage('set --region (or AWS_REGION): the API’s requests are signed for its region');
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`--port: must be a port number, got ${o.port}`);
      const { startDashboard } = await import('../src/cli/dashboard-server.js');
      const dashboard = await startDashboard({ api: o.api, region, port });
      process.stdout.write(
        `Dashboard  ${dashboard.url}\n           (127.0.0.1 only; requests to ${o.api} signed with your AWS credentials; Ctrl-C stops it)\n`,
      );
      const stop = () => void dashboard.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  cli
    .command('local')
    .description('run Switchyard on this machine: API, workflow engine, store, proxy and your services')
    .addOption(configOption())
    .addOption(new Option('--port <port>', 'API port (default 8787)').env('SWITCHYARD_PORT'))
    .option('--data-dir <dir>', 'where the store and process logs live (default .switchyard/)')
    .option('--in-memory', 'keep nothing: store in memory, logs in a temporary folder')
    .option('--demo', 'run the demo: a canary release of the first service to v2 under synthetic load')
    .option('--no-demo', 'start without the demo release (its smoke-test webhook still answers)')
    .option(
      '--keep-serving',
      "on SIGTERM (systemctl stop or restart), stop only Switchyard and leave the services' data planes serving: the next start re-attaches (Ctrl-C still stops everything)",
    )
    .addOption(
      new Option('--data-plane <type>', "the data plane of every local service whose config names none: the built-in proxy, or the system's HAProxy (2.6+)")
        .choices(['builtin', 'haproxy'])
        .env('SWITCHYARD_DATA_PLANE'),
    )
    .action(
      async (o: {
        config: string;
        port?: string;
        dataDir?: string;
        inMemory?: boolean;
        demo?: boolean;
        keepServing?: boolean;
        dataPlane?: 'builtin' | 'haproxy';
      }) =>
        (await configCommands()).local(o.config, {
          ...(o.dataPlane ? { dataPlane: o.dataPlane } : {}),
          ...(o.port ? { port: o.port } : {}),
          ...(o.keepServing ? { keepServing: true } : {}),
          ...(o.dataDir ? { dataDir: o.dataDir } : {}),
          ...(o.inMemory ? { inMemory: true } : {}),
          ...(o.demo !== undefined ? { demo: o.demo } : {}),
        }),
    );

  cli
    .command('init')
    .description(
      'write a commented config: for local services (--local, or --service --command --port), or for an ECS service read from AWS (--from-ecs), read-only',
    )
    .addOption(new Option('--local <spec...>', 'local services, each name=command:port[:/readiness-path], e.g. "api=node server.js:8080:/healthz"'))
    .option('--service <name>', 'one local service: its name (with --command and --port)')
    .option('--command <command>', 'one local service: the command that starts one process (it must listen on $PORT)')
    .option('--port <port>', 'one local service: the public port the proxy listens on')
    .option('--ready <path>', 'one local service: the readiness path (default /ready)')
    .option('--from-ecs <cluster/service>', 'an ECS service (or its ARN): reads it, its task definition and its alarms, and writes its ecs block')
    .option('--name <name>', 'with --from-ecs: the service name in the config (default: the ECS service name)')
    .option('--region <region>', 'with --from-ecs: the AWS region (default: AWS_REGION or the profile)')
    .addOption(new Option('--out <file>', 'where to write it').default('switchyard.config.ts'))
    .option('--force', 'replace the file if it exists')
    .option('--dry-run', 'print the config instead of writing it')
    .action(async (o) => (await initCommand()).init(o));

  cli
    .command('diff')
    .description('what a release would change, reading only: the task definition (or command and version), the plan, the gates and who may approve')
    .argument('<service>', 'the service, as named in the config')
    .argument('<file|image>', 'a task definition JSON file (*.json), or the image to release (repo:tag or repo@sha256:…)')
    .addOption(configOption())
    .option('--region <region>', 'AWS services: the region to read the running task definition in (default: AWS_REGION or the profile)')
    .option('--json', 'print JSON')
    .action(async (service: string, what: string, o) => (await diffCommand()).diff(service, what, o));

  cli
    .command('validate')
    .description("check a config file and print each service's plan (exit 2 when it is invalid)")
    .addOption(configOption())
    .option('--json', 'print JSON')
    .action(async (o: { config: string; json?: boolean }) => (await configCommands()).validate(o.config, Boolean(o.json)));

  cli
    .command('verify')
    .description('pre-flight checks of the AWS services against live AWS, read-only (exit 1 when a check fails)')
    .addOption(configOption())
    .option('--service <name>', 'verify only this service')
    .option('--dry-run', 'send nothing: print each call with its input')
    .option('--json', 'print JSON')
    .action(async (o: { config: string; service?: string; dryRun?: boolean; json?: boolean }) => (await configCommands()).verify(o.config, o));

  cli
    .command('probe')
    .description(
      'live check of the ECS behaviours Switchyard relies on, on a SANDBOX service (never production): two no-op blue/green releases with a PAUSE hook; the deploymentConfiguration is always put back (exit 1 when a behaviour is violated or a step failed)',
    )
    .requiredOption('--cluster <cluster>', 'the ECS cluster')
    .requiredOption('--service <service>', 'the sandbox ECS service (ECS controller; BLUE_GREEN, CANARY or LINEAR with an alternate target group)')
    .option('--region <region>', 'AWS region (default AWS_REGION)')
    .option('--yes', 'do not ask (for CI); without it the probe asks on a terminal and refuses elsewhere')
    .option('--dry-run', 'change nothing: read the service and print every call that would change it, with its input')
    .addOption(new Option('--report <file>', 'where the JSON report goes').default('switchyard-probe.json'))
    .addOption(new Option('--poll <seconds>', 'how often a running deployment is read').default('5'))
    .addOption(new Option('--health-check-seconds <seconds>', "the target groups' HealthCheckIntervalSeconds x HealthyThresholdCount").default('150'))
    .addOption(new Option('--deregistration-delay <seconds>', "the target groups' deregistration_delay.timeout_seconds").default('300'))
    .action(async (o) => (await probeCommand()).probe(o));

  withApi(
    cli
      .command('list')
      .description('recent releases, newest first')
      .option('--service <name>', 'only this service')
      .option('--phase <phase>', 'only releases in this phase (for example awaiting_approval)')
      .option('--limit <n>', 'how many (default 20, at most 100)'),
  ).action(async (o) => (await apiCommands()).list(o));

  withApi(
    cli
      .command('get')
      .description('one release: split, plan and current step, gates, what waits for a person and until when, what you may do, timeline')
      .argument('<release|service>', 'a release id, or a service name (its active release, else its latest)')
      .option(
        '-w, --watch',
        'follow it live until it ends (redraws in place within the terminal, newest events kept; prints new events as lines when piped); exit 0 succeeded, 1 not',
      )
      .option('--interval <duration>', 'how often --watch asks (default 1s)')
      .addOption(
        new Option('--format <format>', 'markdown: the release as GitHub-flavoured Markdown (a CI job summary, a pull request comment)').choices(['markdown']),
      ),
  ).action(async (id: string, o) => (await apiCommands()).get(id, o));

  withApi(
    cli
      .command('release')
      .description('start a release of an image (or print what it would do on AWS with --dry-run)')
      .argument('<service>', 'the service, as named in the config')
      .argument('<image>', 'the image: repo:tag or repo@sha256:…')
      .option('--expedite', 'a hotfix: skip bakes and approvals, gates still checked at each step (needs --reason)')
      .option('--reason <why>', 'why (required with --expedite; shown in the timeline)')
      .option('--idempotency-key <key>', 'the same key never starts two releases (default: a new key, reused by retries)')
      .option('--dry-run', 'AWS: print every call starting the release would make, and make none')
      .addOption(configOption()),
  ).action(async (service: string, image: string, o) => {
    if (o.dryRun) return (await configCommands()).dryRun(o.config, service, image, Boolean(o.json));
    return (await apiCommands()).release(service, image, o);
  });

  for (const [action, what] of [
    ['approve', 'approve the approval a release waits for'],
    ['reject', 'reject the approval a release waits for: it rolls back'],
    ['promote', 'skip the remaining steps, bakes and approvals: straight to 100% and finalize'],
    ['rollback', 'roll the release back now: traffic returns to the stable version (alias: abort, as in Argo Rollouts)'],
  ] as const) {
    const command = cli.command(action).description(what).argument('<id>', 'release id').option('-m, --comment <text>', 'a comment for the timeline');
    // Argo Rollouts users type `abort`: here it rolls back, as Argo's abort returns traffic to the stable version.
    if (action === 'rollback') command.alias('abort');
    withApi(command).action(async (id: string, o) => (await apiCommands()).decide(action, id, o));
  }
  for (const [action, what] of [
    ['pause', "hold a release at its current bake until someone resumes it (the bake's clock stops; gates still watched, a failing gate still rolls back)"],
    ['resume', 'let a paused release go on: its bake continues with the time it had left'],
  ] as const) {
    withApi(
      cli
        .command(action)
        .description(what)
        .argument('<release|service>', 'a release id, or a service name (its active release)')
        .option('-m, --comment <text>', 'a comment for the timeline'),
    ).action(async (id: string, o) => (await apiCommands()).decide(action, id, o));
  }

  withApi(
    cli
      .command('undo')
      .description(
        'after a release succeeded: return the service to the previous stable version now (readiness check, immediate shift, no bakes), or with --to to an older version it served, as a release of its own',
      )
      .argument('<service>', 'the service')
      .option('--to <version>', 'an older version the service served (an image of one of its succeeded releases), through the plan')
      .option('--expedite', 'with --to: bakes cut to one gate check, approvals skipped (one kept under four-eyes); needs --reason')
      .option('--reason <why>', 'why, for the timeline'),
  ).action(async (service: string, o) => (await apiCommands()).undo(service, o));

  withApi(
    cli
      .command('retry')
      .description('start a new release of the image of a rolled-back, failed or cancelled release')
      .argument('<id>', 'the release to retry')
      .option('--reason <why>', 'why, for the timeline'),
  ).action(async (id: string, o) => (await apiCommands()).retry(id, o));

  withApi(
    cli
      .command('history')
      .description("a service's releases, newest first")
      .argument('<service>', 'the service')
      .option('--limit <n>', 'how many (default 50, at most 100)'),
  ).action(async (service: string, o) => (await apiCommands()).history(service, o));

  withApi(
    cli
      .command('logs')
      .description(
        "a release's logs: every process of its new (or stable) version merged in time order, with version and replica (local mode: the processes' files; AWS: the service's log group, new version's tasks only)",
      )
      .argument('<release|service>', 'a release id, or a service name (its active release, else its latest)')
      .option('--version <which>', "new (default), stable, or switchyard (Switchyard's own lines about the release)")
      .option('-f, --follow', 'keep printing new lines until interrupted')
      .option('--grep <text>', 'only lines containing this text (case-insensitive)')
      .option('--limit <n>', 'at most this many of the most recent lines (default 500)'),
  ).action(async (id: string, o) => (await apiCommands()).logs(id, o));

  withApi(
    cli
      .command('wait')
      .description("wait for a release's outcome (for CI): exit 0 succeeded, 1 rolled back or failed, 3 timed out, 5 lost track of it (it goes on)")
      .option('--service <name>', 'the service released')
      .option('--digest <sha256:…>', 'find the release of this image digest (what CI knows after pushing)')
      .option('--release <id>', 'or wait for this release id')
      .option(
        '--since <time>',
        'with --digest: a release of it that already ended counts only if created since this ISO 8601 time (default: a minute before the command started); one running always counts',
      )
      .option('--timeout <duration>', 'give up after this long (default 60m)'),
  ).action(async (o) => (await apiCommands()).wait(o));

  withApi(
    cli
      .command('ci')
      .description(
        'one CI step (the GitHub Action runs it): start a release of --image, or follow the one an ECR push of --digest started; wait for the outcome; write the step outputs (release-id, outcome) to $GITHUB_OUTPUT and a Markdown summary to $GITHUB_STEP_SUMMARY; exit codes as wait',
      )
      .option('--service <name>', 'the service, as named in the config')
      .option('--image <image>', 'start a release of this image: repo:tag or repo@sha256:…')
      .option('--digest <sha256:…>', 'or follow the release an ECR push of this digest started')
      .option(
        '--since <time>',
        'with --digest: a release of it that already ended counts only if created since this ISO 8601 time (default: a minute before the command started); one running always counts',
      )
      .option('--wait <true|false>', 'wait for the outcome (default true)')
      .option('--timeout <duration>', 'give up waiting after this long (default 60m): exit 3')
      .option('--interval <duration>', 'how often to ask the API while waiting (default 5s)')
      .addOption(new Option('--outputs <file>', 'append the step outputs here').env('GITHUB_OUTPUT'))
      .addOption(new Option('--summary <file>', 'append the Markdown summary here').env('GITHUB_STEP_SUMMARY')),
  ).action(async (o) => (await apiCommands()).ci(o));

  cli
    .command('completion')
    .description('print a shell completion script (bash or zsh); load it with: source <(switchyard completion bash)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action(async (shell: 'bash' | 'zsh') => {
      process.stdout.write((await completionCommand()).completionScript(cli, shell));
    });

  return cli;
}

export async function main(argv: string[]): Promise<void> {
  await program().parseAsync(argv, { from: 'user' });
}

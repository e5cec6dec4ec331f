import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { setTimeout as wait } from 'node:timers/promises';
import {
  ProbeError,
  ProbeRefusedError,
  Verdict,
  confirmProbe,
  defaultProbeClient,
  probeDryRun,
  probePlan,
  runProbe,
  type ProbeReport,
} from '../../src/composition/aws-probe.js';
import { systemClock } from '../../src/ports/clock.js';
import { ExitCode, usage } from '../exit.js';

export interface ProbeCommandOptions {
  readonly cluster: string;
  readonly service: string;
  readonly region?: string;
  readonly yes?: boolean;
  readonly dryRun?: boolean;
  readonly report: string;
  readonly poll: string;
  readonly healthCheckSeconds: string;
  readonly deregistrationDelay: string;
}

const MARK: Record<Verdict, string> = { [Verdict.held]: '✓ held    ', [Verdict.violated]: '✗ violated', [Verdict.notSeen]: '· not seen' };

function seconds(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) usage(`${name}: must be a number of seconds, got ${value}`);
  return n;
}

async function ask(): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await rl.question('Go ahead? [y/N] ');
  } finally {
    rl.close();
  }
}

/** `switchyard probe`: prints the plan, asks (or takes --yes), runs the live check, writes the JSON report. */
export async function probe(o: ProbeCommandOptions): Promise<void> {
  const pollMs = seconds('--poll', o.poll) * 1000;
  const healthCheckSeconds = seconds('--health-check-seconds', o.healthCheckSeconds);
  const deregistrationDelaySeconds = seconds('--deregistration-delay', o.deregistrationDelay);
  const region = o.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'];
  if (o.dryRun) {
    const calls = await probeDryRun({
      cluster: o.cluster,
      service: o.service,
      ecs: defaultProbeClient(region),
      clock: systemClock,
      sleep: (ms) => wait(ms),
    }).catch((error: unknown) => (error instanceof ProbeError ? usage(error.message) : Promise.reject(error)));
    process.stdout.write(`dry run: nothing is changed. switchyard probe would make these calls that change ${o.service}, in order:\n`);
    for (const call of calls) process.stdout.write(`  ecs ${call.command} ${JSON.stringify(call.input)}\n`);
    return;
  }
  process.stdout.write(`${probePlan(o.cluster, o.service).join('\n')}\n  Region: ${region ?? '(the SDK default)'}; report: ${resolve(o.report)}\n`);
  try {
    if (!(await confirmProbe({ yes: Boolean(o.yes), isTTY: Boolean(process.stdin.isTTY), ask }))) {
      process.stdout.write('Nothing changed.\n');
      return;
    }
  } catch (error) {
    if (error instanceof ProbeRefusedError) usage(error.message);
    throw error;
  }

  // The first Ctrl-C stops the probe at its next call or wait and still puts the configuration back.
  const controller = new AbortController();
  const interrupt = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\ninterrupted: stopping the probe and putting the deploymentConfiguration back (Ctrl-C again quits now)\n');
    controller.abort();
  };
  process.on('SIGINT', interrupt);
  let report: ProbeReport;
  try {
    report = await runProbe({
      cluster: o.cluster,
      service: o.service,
      ...(region ? { region } : {}),
      ecs: defaultProbeClient(region),
      clock: systemClock,
      sleep: (ms) => wait(ms),
      pollMs,
      healthCheckSeconds,
      deregistrationDelaySeconds,
      signal: controller.signal,
      log: (line) => process.stdout.write(`${line}\n`),
    });
  } catch (error) {
    // Thrown before anything changed (the service cannot be probed, or could not be read).
    if (error instanceof ProbeError) usage(error.message);
    process.stderr.write(`switchyard: ${(error as Error).message}\n`);
    process.exit(ExitCode.unsuccessful);
  } finally {
    process.off('SIGINT', interrupt);
  }

  await writeFile(o.report, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write('\n');
  for (const row of report.rows) process.stdout.write(`${MARK[row.verdict]}  ${row.behaviour}\n             ${row.measurement}\n`);
  process.stdout.write(
    report.restore.matches
      ? `deploymentConfiguration put back as it was; the service runs ${report.taskDefinitionAfter ?? 'its task definition'}\n`
      : `✗ the deploymentConfiguration could NOT be confirmed as put back${report.restore.error ? ` (${report.restore.error})` : ''}: check the service\n`,
  );
  if (report.error) process.stdout.write(`✗ the probe did not complete: ${report.error}\n`);
  process.stdout.write(`Report: ${resolve(o.report)}\n`);
  const violated = report.rows.some((r) => r.verdict === Verdict.violated);
  process.exit(report.ok && !violated ? ExitCode.ok : ExitCode.unsuccessful);
}

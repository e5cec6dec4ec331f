import { spawn } from 'node:child_process';
import {
  ContinueServiceDeploymentCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  type DeploymentConfiguration,
  type RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import {
  PROBE_ENV,
  PROBE_REFUSAL,
  ProbeRefusedError,
  confirmProbe,
  probeDryRun,
  restoringConfiguration,
  runProbe,
  type ProbeReport,
  type ProbeRow,
  type Verdict,
} from '../../src/composition/aws-probe.js';
import { VirtualClock } from '../../src/ports/clock.js';
import { FakeEcs, ecsMock, installFakeEcs, type FakeEcsOptions } from '../support/fake-ecs.js';

/** The sandbox service: native blue/green, no hooks of its own. */
const BLUE_GREEN: DeploymentConfiguration = {
  strategy: 'BLUE_GREEN',
  bakeTimeInMinutes: 0,
  maximumPercent: 200,
  minimumHealthyPercent: 100,
  deploymentCircuitBreaker: { enable: false, rollback: false },
};

function setUp(options: FakeEcsOptions = {}) {
  const clock = new VirtualClock();
  const fake = new FakeEcs(clock, { deploymentConfiguration: BLUE_GREEN, ...options });
  installFakeEcs(fake);
  const before = structuredClone(fake.service.deploymentConfiguration);
  const run = (extra: Partial<Parameters<typeof runProbe>[0]> = {}) =>
    runProbe({
      cluster: 'prod',
      service: 'api',
      ecs: new ECSClient({ region: 'eu-west-1' }),
      clock,
      // The probe's every wait moves the fake's virtual clock: no wall-clock time, no races.
      sleep: async (ms) => clock.advanceBy(ms),
      ...extra,
    });
  return { clock, fake, before, run };
}

const verdicts = (report: ProbeReport): Record<ProbeRow, Verdict> =>
  Object.fromEntries(report.rows.map((r) => [r.row, r.verdict])) as Record<ProbeRow, Verdict>;

/** What every run must leave behind: the configuration the service had (lifecycleHooks [] when it had none). */
function expectRestored(fake: FakeEcs, before: DeploymentConfiguration, report: ProbeReport) {
  expect(fake.service.deploymentConfiguration).toEqual(restoringConfiguration(before));
  expect(report.restore).toMatchObject({ sent: true, matches: true });
  const last = fake.calls.filter((c) => c.command === 'UpdateService').at(-1)?.input;
  expect(last).toEqual({ cluster: 'prod', service: 'api', deploymentConfiguration: { ...before, lifecycleHooks: [] } });
}

/**
 * Under profile 'aws' every row the probe can observe holds, except two the fake cannot make hold:
 * the fake's reads never lag in 'aws' (so the lag is "not seen", never "violated": ECS allows lag, it does
 * not promise it), and the fake keeps its target groups fixed (docs/aws-behaviours.md: "not encoded"), so
 * the probe reports the swap violated, which is what a live run settles.
 */
const AWS_VERDICTS: Record<ProbeRow, Verdict> = {
  taskStart: 'held',
  healthChecks: 'held',
  scaleUpBeforeHook: 'held',
  cleanUpDrains: 'held',
  alarmBake: 'not seen',
  mergesUpdates: 'held',
  configUpdateStartsDeployment: 'held',
  readsLag: 'not seen',
  listPages: 'held',
  targetGroupsSwap: 'violated',
};

describe('switchyard probe against the ECS fake', () => {
  it.each([1, 2, 3])('profile aws (seed %i): the observable rows hold, with the measurements, and the configuration is put back', async (seed) => {
    const { fake, before, run } = setUp({ seed });
    const report = await run();
    expect(report.error).toBeUndefined();
    expect(verdicts(report)).toEqual(AWS_VERDICTS);
    expect(report.releases.map((r) => [r.name, r.status])).toEqual([
      ['configuration-only deployment', 'SUCCESSFUL'],
      ['release 1', 'SUCCESSFUL'],
      ['release 2', 'SUCCESSFUL'],
    ]);
    for (const r of report.releases) {
      // 30-90 s to start, 150 s of health checks, then the hook; CLEAN_UP drains 300 s.
      expect(r.firstHookAt).toBeGreaterThanOrEqual(180);
      expect(r.firstHookAt).toBeLessThanOrEqual(90 + 150 + 5);
      expect(r.successfulAt! - r.stagesFirstSeen['CLEAN_UP']!).toBeGreaterThanOrEqual(295);
      expect(r.continues).toEqual([expect.objectContaining({ staleImmediately: false, readsUntilConsistent: 1 })]);
    }
    expect(report.observations).toMatchObject({ configurationOnlyStartedDeployment: true, listOrder: 'oldest-first', listPageSizes: [1, 1, 1] });
    // Two no-op revisions: the running definition re-registered with the same image and SWITCHYARD_PROBE set.
    const registered = fake.calls.filter((c) => c.command === 'RegisterTaskDefinition').map((c) => c.input as RegisterTaskDefinitionCommandInput);
    expect(registered.map((r) => r.containerDefinitions?.[0]?.environment)).toEqual([
      [
        { name: 'MODE', value: 'classic' },
        { name: PROBE_ENV, value: '1' },
      ],
      [
        { name: 'MODE', value: 'classic' },
        { name: PROBE_ENV, value: '2' },
      ],
    ]);
    expect(registered[0]?.containerDefinitions?.[0]?.image).toBe(fake.image(fake.deployments[0]!.source));
    expect(registered[0]?.tags).toEqual([{ key: 'team', value: 'payments' }]);
    expect(registered[0]).not.toHaveProperty('taskDefinitionArn');
    expect(report.taskDefinitionAfter).toBe(fake.service.taskDefinition);
    expectRestored(fake, before, report);
  });

  it.each([4, 5])('profile hostile (seed %i): throttled calls are retried, the read lag after a continue is seen and measured', async (seed) => {
    const { fake, before, run } = setUp({ profile: 'hostile', seed });
    const report = await run();
    expect(report.error).toBeUndefined();
    expect(fake.throttled.length).toBeGreaterThan(0);
    expect(verdicts(report)).toEqual({ ...AWS_VERDICTS, readsLag: 'held' });
    expect(report.releases.flatMap((r) => r.continues).every((c) => c.staleImmediately && c.readsUntilConsistent === 2)).toBe(true);
    expect(report.observations.listOrder).not.toBe(undefined);
    expectRestored(fake, before, report);
  });

  it.each<[string, FakeEcsOptions, Partial<Record<ProbeRow, Verdict>>]>([
    ['UpdateService replaces the configuration', { rules: { mergesUpdates: false } }, { mergesUpdates: 'violated' }],
    ['a configuration-only update starts nothing', { rules: { configUpdateStartsDeployment: false } }, { configUpdateStartsDeployment: 'violated' }],
    ['tasks count healthy when they start', { rules: { waitsForHealthChecks: false } }, { healthChecks: 'violated', scaleUpBeforeHook: 'violated' }],
    ['CLEAN_UP does not drain', { rules: { drainsTargets: false } }, { cleanUpDrains: 'violated' }],
    ['ListServiceDeployments ignores maxResults', { rules: { pagesLists: false } }, { listPages: 'violated' }],
    ['tasks take 200-240 s to start', { timings: { taskStartMin: 200, taskStartMax: 240 } }, { taskStart: 'violated' }],
    ['reads lag under profile aws too', { rules: { readsLag: true } }, { readsLag: 'held' }],
  ])('a fake where %s: the probe says so for that row, and still restores', async (_what, options, changed) => {
    const { fake, before, run } = setUp({ seed: 2, ...options });
    const report = await run();
    expect(verdicts(report)).toEqual({ ...AWS_VERDICTS, ...changed });
    expectRestored(fake, before, report);
  });

  it('the configuration is put back exactly when a step throws midway (a continue refused), and the deployment is stopped with rollback', async () => {
    const { fake, before, run } = setUp({
      deploymentConfiguration: {
        ...BLUE_GREEN,
        lifecycleHooks: [
          {
            targetType: 'AWS_LAMBDA',
            hookTargetArn: 'arn:aws:lambda:eu-west-1:123456789012:function:smoke',
            roleArn: 'arn:aws:iam::123456789012:role/hooks',
            lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'],
          },
        ],
      },
    });
    ecsMock.on(ContinueServiceDeploymentCommand).rejects(Object.assign(new Error('not allowed'), { name: 'AccessDeniedException' }));
    const report = await run();
    expect(report.ok).toBe(false);
    expect(report.error).toMatch(/not allowed to call ecs:ContinueServiceDeployment/);
    expect(fake.calls.map((c) => c.command)).toContain('StopServiceDeployment');
    expect(fake.deployments[0]?.status).toBe('ROLLBACK_SUCCESSFUL');
    // The user's own hook is sent back explicitly; nothing of the probe's stays.
    expect(fake.service.deploymentConfiguration).toEqual(before);
    expect(report.restore).toMatchObject({ sent: true, matches: true });
  });

  it('the configuration is put back exactly when release 2 cannot register its revision', async () => {
    const { fake, before, run } = setUp({ profile: 'hostile', seed: 3 });
    let registers = 0;
    ecsMock.on(RegisterTaskDefinitionCommand).callsFake(async (input: RegisterTaskDefinitionCommandInput) => {
      if (++registers === 2) throw Object.assign(new Error('Too many revisions'), { name: 'ClientException' });
      return { taskDefinition: { taskDefinitionArn: fake.register(structuredClone(input)) } };
    });
    const report = await run();
    expect(report.ok).toBe(false);
    expect(report.error).toContain('Too many revisions');
    expect(report.releases.map((r) => r.name)).toEqual(['configuration-only deployment', 'release 1']);
    expectRestored(fake, before, report);
  });

  it('interrupted (Ctrl-C) while a hook waits: the deployment is stopped and the configuration put back', async () => {
    const { fake, before, run } = setUp({ profile: 'hostile', seed: 6 });
    const controller = new AbortController();
    const report = await run({ signal: controller.signal, log: (line) => line.includes('AWAITING_ACTION') && controller.abort() });
    expect(report.error).toBe('interrupted');
    expect(report.releases).toEqual([]);
    expect(fake.deployments[0]?.status).toBe('ROLLBACK_SUCCESSFUL');
    expectRestored(fake, before, report);
  });

  it('--dry-run reads only and lists every change with the exact input a run sends', async () => {
    const { fake, clock, before, run } = setUp({ seed: 2 });
    const planned = await probeDryRun({ cluster: 'prod', service: 'api', ecs: new ECSClient({ region: 'eu-west-1' }), clock, sleep: async () => {} });
    expect(fake.calls).toEqual([]);
    expect(planned.map((c) => c.command)).toEqual([
      'UpdateService',
      'ContinueServiceDeployment',
      'RegisterTaskDefinition',
      'UpdateService',
      'ContinueServiceDeployment',
      'RegisterTaskDefinition',
      'UpdateService',
      'ContinueServiceDeployment',
      'UpdateService',
    ]);
    await run();
    const sent = fake.calls.filter((c) => c.command !== 'ContinueServiceDeployment');
    const plannedChanges = planned.filter((c) => c.command !== 'ContinueServiceDeployment');
    // Same inputs, except what only the run learns (the revisions' ARNs).
    expect(sent.map((c) => c.command)).toEqual([...plannedChanges.map((c) => c.command)]);
    sent.forEach((c, i) => {
      const { taskDefinition: _sent, ...sentRest } = c.input as { taskDefinition?: string };
      const { taskDefinition: _planned, ...plannedRest } = plannedChanges[i]!.input as { taskDefinition?: string };
      expect(sentRest).toEqual(plannedRest);
    });
    expect(plannedChanges.at(-1)?.input).toEqual({ cluster: 'prod', service: 'api', deploymentConfiguration: { ...before, lifecycleHooks: [] } });
  });

  it('refuses a service whose strategy has no lifecycle hooks, before changing anything', async () => {
    const { fake, run } = setUp({ deploymentConfiguration: { strategy: 'ROLLING', maximumPercent: 200, minimumHealthyPercent: 100 } });
    await expect(run()).rejects.toThrow(/uses the ROLLING strategy; the probe needs BLUE_GREEN, CANARY or LINEAR/);
    expect(fake.calls).toEqual([]);
  });
});

describe('switchyard probe asks before changing anything', () => {
  it.each([
    [{ yes: true, isTTY: false }, '', true],
    [{ yes: false, isTTY: true }, 'y', true],
    [{ yes: false, isTTY: true }, 'YES\n', true],
    [{ yes: false, isTTY: true }, '', false],
    [{ yes: false, isTTY: true }, 'n', false],
  ])('%o answering %j goes ahead: %s', async (flags, answer, go) => {
    await expect(confirmProbe({ ...flags, ask: async () => answer })).resolves.toBe(go);
  });

  it('without --yes and without a terminal it refuses, without asking', async () => {
    let asked = false;
    const ask = async () => {
      asked = true;
      return 'y';
    };
    await expect(confirmProbe({ yes: false, isTTY: false, ask })).rejects.toThrow(ProbeRefusedError);
    expect(asked).toBe(false);
  });

  it('from the command line: no terminal and no --yes prints the plan, refuses with exit 2 and sends nothing', async () => {
    const { code, out, err } = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/switchyard.js', 'probe', '--cluster', 'sandbox', '--service', 'api-probe', '--region', 'eu-west-1'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        // No credentials: were anything sent, it would fail differently.
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: '',
          AWS_SECRET_ACCESS_KEY: '',
          AWS_PROFILE: 'switchyard-test-no-such-profile',
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (exit) => resolve({ code: exit, out, err }));
    });
    expect(out).toContain('switchyard probe will change the ECS service api-probe in cluster sandbox');
    expect(err).toContain(PROBE_REFUSAL);
    expect(code).toBe(2);
  }, 30_000);
});

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { processStartTime, ProcessRecords } from '../../src/adapters/local/process-records.js';
import { startLocalMode, type LocalMode } from '../../src/composition/local-mode.js';
import { resolveConfig } from '../../src/config/config.js';
import { eventually } from '../support/poll.js';
import { killGroup, liveInGroup } from '../support/process-groups.js';

let mode: LocalMode | undefined;
const dirs: string[] = [];
const groups: number[] = [];
afterEach(async () => {
  await mode?.stop();
  mode = undefined;
  for (const pgid of groups.splice(0)) killGroup(pgid);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const config = resolveConfig({
  services: [
    {
      name: 'demo',
      target: {
        driver: 'local',
        command: ['node', 'examples/demo-service/server.mjs'],
        port: 8080,
        readiness: { interval: 0, timeout: '5s' },
        env: { STARTUP_MS: '20' },
      },
      strategy: { type: 'blue-green' },
    },
  ],
});

describe('processes left behind by a Switchyard that died', () => {
  it('are recorded while they run, and found and stopped at the next start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-orphans-'));
    dirs.push(dataDir);
    // What a SIGKILLed Switchyard leaves: a service run through a wrapper (its own process group, as
    // Switchyard starts it), the server the wrapper started (it ignores SIGTERM), and its record.
    const orphan = spawn('sh', ['-c', `"${process.execPath}" "${join(process.cwd(), 'test/fixtures/processes/stubborn.mjs')}" & wait`], {
      detached: true,
      stdio: 'ignore',
    });
    const pid = orphan.pid ?? 0;
    groups.push(pid);
    await eventually(
      async () => liveInGroup(pid).length,
      (n) => n === 2,
    );
    new ProcessRecords(join(dataDir, 'processes')).add({ pid, service: 'demo', version: 'v1', port: 1, pgid: pid, startTime: processStartTime(pid) ?? '' });
    const warnings: string[] = [];
    mode = await startLocalMode({ config, port: 0, dataDir, ephemeralPorts: true, token: 't', onWarning: (m) => warnings.push(m) });
    await eventually(
      async () => liveInGroup(pid),
      (left) => left.length === 0,
    );
    expect(warnings.join('\n')).toContain(`stopped 1 service process(es) left running by a previous run: demo v1 (pid ${pid})`);
    console.log(
      `crash and restart: the process a killed Switchyard left running (pid ${pid}) and the server it started were found from its record and stopped at the next start`,
    );
    // The new run's own processes are recorded by their service's data plane, and forgotten when they stop.
    const running = mode.targets.get('demo')?.pids ?? [];
    expect(
      readdirSync(join(dataDir, 'processes', 'demo'))
        .filter((f) => f.endsWith('.json'))
        .sort(),
    ).toEqual(running.map((p) => `${p}.json`).sort());
    await mode.stop();
    mode = undefined;
    expect(readdirSync(join(dataDir, 'processes', 'demo'))).toEqual([]);
  }, 30_000);

  it('a record whose pid now belongs to another process (a reused pid) is forgotten, not killed', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-orphans-'));
    dirs.push(dataDir);
    const records = new ProcessRecords(join(dataDir, 'processes'));
    records.add({ pid: process.pid, pgid: process.pid, service: 'demo', version: 'v1', port: 1, startTime: 'not-this-process' });
    expect(records.reap()).toEqual([]);
    expect(alive(process.pid)).toBe(true);
  });
});

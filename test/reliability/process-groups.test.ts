import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessRecords, reapOrphans } from '../../src/adapters/local/process-records.js';
import { spawnProcess, stopProcess, type ManagedProcess } from '../../src/adapters/local/processes.js';
import { eventually } from '../support/poll.js';
import { commandLine, firstLine, killGroup, liveInGroup, runTs, see, stillRunning } from '../support/process-groups.js';

const FIXTURES = join(process.cwd(), 'test/fixtures/processes');
const STUBBORN = join(FIXTURES, 'stubborn.mjs');
const node = process.execPath;
/** `sh -c 'node server & wait'`: a wrapper whose server ignores SIGTERM. */
const SH_WRAPPER = ['sh', '-c', `"${node}" "${STUBBORN}" & wait`];
/** The shape of `npm start`: a process that runs a shell that runs node (`; true` keeps each shell from exec'ing). */
const NPM_LIKE = ['sh', '-c', `sh -c '"${node}" "${STUBBORN}"; true'; true`];

const dirs: string[] = [];
const groups: number[] = [];
const children: ChildProcess[] = [];
const procs: ManagedProcess[] = [];
afterEach(() => {
  // Whatever a test leaves, even when it fails: nothing it started keeps running.
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const p of procs.splice(0)) groups.push(p.pid);
  for (const pgid of groups.splice(0)) killGroup(pgid);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

const spawnReplica = async (command: readonly string[], logDir: string, records?: ProcessRecords) => {
  const proc = await spawnProcess({ service: 'wrapped', version: 'v1', index: 0, command, logDir, ...(records ? { records } : {}) });
  procs.push(proc);
  return proc;
};

/** Until `n` processes of the group run (the wrapper has started what it wraps). */
const groupOf = (pgid: number, n: number) =>
  eventually(
    async () => liveInGroup(pgid),
    (members) => members.length === n,
    { timeoutMs: 15_000, intervalMs: 20 },
  );

/** Until nothing of the group runs; fails with what still does. */
const groupGone = (pgid: number) =>
  eventually(
    async () => liveInGroup(pgid),
    (members) => members.length === 0,
    { timeoutMs: 15_000, intervalMs: 20 },
    (members) => `still running in group ${pgid}: ${members.join(', ')}`,
  );

/** A data plane stand-in (its own Node process) that starts these replicas; resolves with them once started. */
async function replicaParent(logDir: string, root: string | undefined, commands: readonly (readonly string[])[]) {
  const child = runTs(join(FIXTURES, 'replica-parent.ts'), [logDir, root ?? '-', ...commands.map((c) => JSON.stringify(c))]);
  children.push(child);
  const replicas = JSON.parse(await firstLine(child)) as { pid: number }[];
  groups.push(...replicas.map((r) => r.pid));
  return { child, replicas };
}

describe.skipIf(process.platform !== 'linux')('a replica is stopped with everything it started (its process group)', () => {
  it.each([
    ['sh -c "node server & wait"', SH_WRAPPER, 2],
    ['npm start (a process running sh running node)', NPM_LIKE, 3],
  ])('stopping a replica run as %s leaves no process of it running, though the server ignores SIGTERM', async (_, command, processes) => {
    const proc = await spawnReplica(command, tempDir('switchyard-groups-'));
    await groupOf(proc.pid, processes);
    await stopProcess(proc, 300);
    // What finalize, a rollback or Ctrl-C rely on: when the stop returns, nothing of the old version runs.
    expect(liveInGroup(proc.pid)).toEqual([]);
  });

  it('a wrapper that exits on its own does not leave its server running', async () => {
    const proc = await spawnReplica([node, join(FIXTURES, 'leaves-child.mjs')], tempDir('switchyard-groups-'));
    // The wrapper exits (code 1) once its server runs; the server ignores SIGTERM.
    expect((await proc.exited).code).toBe(1);
    await groupGone(proc.pid);
  });

  it('replicas die with the process that started them (their data plane), even when it is killed with SIGKILL', async () => {
    const { child, replicas } = await replicaParent(tempDir('switchyard-groups-'), undefined, [
      [node, STUBBORN],
      [node, STUBBORN],
    ]);
    // Running their program: what a replica runs first (setpriv, where it is used) has set up its death
    // with its parent by then. A parent killed in the milliseconds before is what the records are for.
    await eventually(
      async () => replicas.map((r) => commandLine(r.pid)),
      (lines) => lines.every((line) => line.includes(STUBBORN)),
      { timeoutMs: 15_000, intervalMs: 20 },
    );
    const seen = replicas.map((r) => see(r.pid));
    child.kill('SIGKILL');
    const left = await eventually(
      async () => seen.filter(stillRunning),
      (running) => running.length === 0,
      { timeoutMs: 15_000, intervalMs: 20 },
    ).catch(() => seen.filter(stillRunning));
    expect(left.map((s) => s.pid)).toEqual([]);
    console.log(`parent killed with SIGKILL: its ${seen.length} replicas (pids ${seen.map((s) => s.pid).join(', ')}) were killed by the kernel`);
  });
});

describe.skipIf(process.platform !== 'linux')('what a killed in-memory run (or test run) leaves is reaped at the next start', () => {
  it('a wrapper’s server, left running after the process that started it was killed, is stopped by the next start; the records go with it', async () => {
    const root = join(tempDir('switchyard-records-'), 'orphans');
    const { child, replicas } = await replicaParent(tempDir('switchyard-groups-'), root, [SH_WRAPPER]);
    const pgid = replicas[0]?.pid ?? 0;
    await groupOf(pgid, 2);
    const wrapper = see(pgid);
    child.kill('SIGKILL');
    // The kernel kills the wrapper (the parent's direct child); the server it started is not its
    // parent's child, so it runs on, in the replica's group, with nothing left to stop it.
    await eventually(
      async () => stillRunning(wrapper),
      (running) => !running,
      { timeoutMs: 15_000, intervalMs: 20 },
    );
    expect(liveInGroup(pgid)).toHaveLength(1);

    const reaped = reapOrphans(root);
    expect(reaped.map((r) => ({ pid: r.pid, pgid: r.pgid, service: r.service, version: r.version }))).toEqual([
      { pid: pgid, pgid, service: 'svc', version: 'v1' },
    ]);
    await groupGone(pgid);
    expect(readdirSync(root)).toEqual([]);
  });

  it('a running owner’s records are left alone, and removed when it stops cleanly', async () => {
    const root = join(tempDir('switchyard-records-'), 'orphans');
    const records = ProcessRecords.owned(root);
    const proc = await spawnReplica([node, STUBBORN], tempDir('switchyard-groups-'), records);
    expect(reapOrphans(root)).toEqual([]);
    expect(liveInGroup(proc.pid)).toEqual([proc.pid]);
    await stopProcess(proc, 200);
    records.dispose();
    expect(readdirSync(root)).toEqual([]);
  });

  it('a records folder other users may write to is refused, with what to run', () => {
    const root = join(tempDir('switchyard-records-'), 'orphans');
    ProcessRecords.owned(root).dispose();
    chmodSync(root, 0o777);
    expect(() => reapOrphans(root)).toThrow(`the folder of process records ${root} has mode 0777, open to other users; run chmod 700 ${root} and start again`);
  });
});

describe.skipIf(process.platform !== 'linux')('a recorded group is reaped whole, and only if it is the one recorded', () => {
  /** A previous run's replica: a detached wrapper (its own group) whose server ignores SIGTERM. */
  async function previousReplica() {
    const wrapper = spawn(SH_WRAPPER[0] ?? 'sh', SH_WRAPPER.slice(1), { detached: true, stdio: 'ignore' });
    const pgid = wrapper.pid ?? 0;
    groups.push(pgid);
    const members = await groupOf(pgid, 2);
    return { wrapper, pgid, server: members.find((p) => p !== pgid) ?? 0 };
  }

  it('its leader still running: the whole group is killed, the server too', async () => {
    const { pgid } = await previousReplica();
    const records = new ProcessRecords(join(tempDir('switchyard-records-'), 'processes'));
    records.add({ pid: pgid, pgid, service: 'demo', version: 'v1', port: 1, startTime: see(pgid).startTime });
    expect(records.reap().map((r) => r.pid)).toEqual([pgid]);
    await groupGone(pgid);
  });

  it.each([
    ['no older than the recorded leader (what the wrapper started): killed', true],
    ['older than the recorded leader (not of the recorded group): left alone', false],
  ])('its leader gone, a member %s', async (_, killed) => {
    const { wrapper, pgid, server } = await previousReplica();
    const leader = see(pgid);
    const exited = new Promise((r) => wrapper.once('exit', r));
    wrapper.kill('SIGKILL');
    await exited;
    expect(liveInGroup(pgid)).toEqual([server]);
    const records = new ProcessRecords(join(tempDir('switchyard-records-'), 'processes'));
    const startTime = killed ? leader.startTime : String(Number(see(server).startTime) + 1);
    records.add({ pid: pgid, pgid, service: 'demo', version: 'v1', port: 1, startTime });
    expect(records.reap().length).toBe(killed ? 1 : 0);
    if (killed) await groupGone(pgid);
    else expect(liveInGroup(pgid)).toEqual([server]);
  });

  it('its pid now leads another group (a reused pid): nothing of that group is killed', async () => {
    const { pgid, server } = await previousReplica();
    const records = new ProcessRecords(join(tempDir('switchyard-records-'), 'processes'));
    // Recorded when the number belonged to an earlier process.
    records.add({ pid: pgid, pgid, service: 'demo', version: 'v1', port: 1, startTime: String(Number(see(pgid).startTime) - 1) });
    expect(records.reap()).toEqual([]);
    expect(liveInGroup(pgid).sort()).toEqual([pgid, server].sort());
  });
});

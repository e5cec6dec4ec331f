import type { ChildProcess } from 'node:child_process';

/**
 * Ctrl-C for every `switchyard local` a test started and that still runs, each awaited: Switchyard
 * stops its data planes and their replicas before it exits, so nothing outlives the test.
 */
export async function interruptAll(children: ChildProcess[]): Promise<void> {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
  }
}

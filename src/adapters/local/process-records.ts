import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A record, in the data directory, of every service process Switchyard has running, so the next
 * start can find and stop what a crashed or killed Switchyard left behind (orphans keep ports and
 * serve stale versions). The kernel's start time of the process guards against a reused pid.
 */
export interface ProcessRecord {
  readonly pid: number;
  readonly service: string;
  readonly version: string;
  readonly port: number;
  /** /proc/<pid>/stat start time (clock ticks since boot), where the system has /proc. */
  readonly startTime?: string;
}

/** The kernel's start time of a process (Linux /proc), or undefined elsewhere or when it is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start after the last ')'; starttime is field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export class ProcessRecords {
  constructor(private readonly dir: string) {}

  add(record: ProcessRecord): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, `${record.pid}.json`), JSON.stringify(record));
  }

  remove(pid: number): void {
    rmSync(join(this.dir, `${pid}.json`), { force: true });
  }

  /**
   * Stops every recorded process that is still the process it was (same pid, same start time) and
   * forgets them all. Returns what was stopped.
   */
  reap(): ProcessRecord[] {
    let files: string[];
    try {
      files = readdirSync(this.dir).filter((f) => f.endsWith('.json'));
    } catch {
      return [];
    }
    const reaped: ProcessRecord[] = [];
    for (const file of files) {
      let record: ProcessRecord | undefined;
      try {
        record = JSON.parse(readFileSync(join(this.dir, file), 'utf8')) as ProcessRecord;
      } catch {
        record = undefined;
      }
      rmSync(join(this.dir, file), { force: true });
      if (!record || record.startTime === undefined || processStartTime(record.pid) !== record.startTime) continue;
      try {
        process.kill(record.pid, 'SIGKILL');
        reaped.push(record);
      } catch {
        // already gone
      }
    }
    return reaped;
  }
}

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnProcess, type ManagedProcess } from '../../src/adapters/local/processes.js';
import { eventually } from '../support/poll.js';

const dirs: string[] = [];
const procs: ManagedProcess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) if (!p.exit) p.child.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('a service cannot steer its own release', () => {
  it('a child process sees only its config’s env, PORT and VERSION: never Switchyard’s token, Slack secrets or AWS credentials', async () => {
    const secrets = { SWITCHYARD_TOKEN: 'the-api-token', SLACK_BOT_TOKEN: 'xoxb-secret', SLACK_SIGNING_SECRET: 'signing', AWS_SECRET_ACCESS_KEY: 'aws-secret' };
    Object.assign(process.env, secrets);
    try {
      const logDir = mkdtempSync(join(tmpdir(), 'switchyard-env-'));
      dirs.push(logDir);
      const proc = await spawnProcess({
        service: 'nosy',
        version: 'v2',
        index: 0,
        command: ['node', '-e', 'console.log(JSON.stringify(process.env))'],
        env: { FEATURE_FLAG: 'on' },
        logDir,
      });
      procs.push(proc);
      await proc.exited;
      const line = await eventually(
        async () =>
          readFileSync(proc.logFile, 'utf8')
            .split('\n')
            .find((l) => l.includes('"stream":"stdout"')),
        (l) => l !== undefined,
      );
      const env = JSON.parse((JSON.parse(line ?? '{}') as { message: string }).message) as Record<string, string>;
      for (const name of Object.keys(secrets)) expect(env[name], name).toBeUndefined();
      expect(env).toMatchObject({ FEATURE_FLAG: 'on', VERSION: 'v2', PORT: String(proc.port) });
      expect(Object.keys(env).sort()).toEqual(['FEATURE_FLAG', 'PATH', 'PORT', 'VERSION']);
      console.log(
        `self-promotion: a service process saw ${Object.keys(env).length} variables (FEATURE_FLAG, PATH, PORT, VERSION), none of the ${Object.keys(secrets).length} secrets of Switchyard's environment`,
      );
    } finally {
      for (const name of Object.keys(secrets)) delete process.env[name];
    }
  });
});

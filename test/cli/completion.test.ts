import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { program } from '../../bin/cli.js';
import { completionScript, describe as describeProgram } from '../../bin/commands/completion.js';

const hasShell = (shell: string) => spawnSync(shell, ['-c', 'exit 0']).status === 0;

/**
 * What bash offers for the words typed so far (the last word is the one being completed): the script is
 * sourced in `bash -c` and its function called as `complete -F` would, with COMP_WORDS and COMP_CWORD.
 */
function bashComplete(script: string, ...words: string[]): string[] {
  const run = spawnSync(
    'bash',
    [
      '-c',
      'source <(printf "%s" "$SCRIPT"); COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _switchyard_completion; printf "%s\\n" "${COMPREPLY[@]}"',
      'bash',
      'switchyard',
      ...words,
    ],
    { env: { ...process.env, SCRIPT: script }, encoding: 'utf8' },
  );
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return run.stdout.split('\n').filter(Boolean);
}

describe('switchyard completion', () => {
  const cli = program();
  const bash = completionScript(cli, 'bash');

  it('is generated from the program: every command and every option of every command', () => {
    const { commands } = describeProgram(cli);
    for (const command of cli.commands) {
      expect(commands.map((c) => c.name)).toContain(command.name());
      for (const option of command.options) expect(bash).toContain(option.long ?? option.short ?? '');
    }
    expect(commands.map((c) => c.name)).toContain('help');
  });

  it.runIf(hasShell('bash'))('bash: completes a command name, an option, an option value and an argument', () => {
    expect(bashComplete(bash, 're')).toEqual(['release', 'reject', 'resume', 'retry']);
    expect(bashComplete(bash, 'local', '--data-')).toEqual(['--data-dir', '--data-plane']);
    expect(bashComplete(bash, 'local', '--data-plane', 'h')).toEqual(['haproxy']);
    expect(bashComplete(bash, 'get', '-w', '--js')).toEqual(['--json']);
    expect(bashComplete(bash, 'completion', '')).toEqual(['bash', 'zsh']);
    expect(bashComplete(bash, 'help', 'val')).toEqual(['validate']);
    // An option's value is not taken for a command or an argument.
    expect(bashComplete(bash, 'get', '--interval', '')).toEqual([]);
    expect(bashComplete(bash, '--v')).toEqual(['--version']);
    // init and diff: their options, and a task definition file as diff's second argument.
    expect(bashComplete(bash, 'init', '--fr')).toEqual(['--from-ecs']);
    expect(bash).toContain('"diff 1") compopt -o filenames');
  });

  it.runIf(hasShell('zsh'))('zsh: the script parses', () => {
    const run = spawnSync('zsh', ['-n'], { input: completionScript(cli, 'zsh'), encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('zsh: commands with their descriptions, options with values', () => {
    const zsh = completionScript(cli, 'zsh');
    expect(zsh).toMatch(/^#compdef switchyard\n/);
    expect(zsh).toContain("'release:start a release of an image");
    expect(zsh).toContain("'--data-plane[");
    expect(zsh).toContain(': :(builtin haproxy)');
    expect(zsh).toContain("'1: :(bash zsh)'");
  });
});

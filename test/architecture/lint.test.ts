import { readFile } from 'node:fs/promises';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

describe('the lint rule that keeps the core pure', () => {
  const eslint = new ESLint({ cwd: process.cwd() });
  const lint = async (filePath: string) => {
    const code = await readFile('test/fixtures/lint/impure-core.ts', 'utf8');
    const [result] = await eslint.lintText(code, { filePath });
    return (result?.messages ?? []).map((m) => `${m.line}: ${m.message}`);
  };

  it('fails a core file that imports the AWS SDK, Hono or Powertools, reads process.env or the clock', async () => {
    const messages = await lint('src/core/impure.ts');
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^2: .*cannot import the AWS SDK/),
        expect.stringMatching(/^3: .*cannot import Hono/),
        expect.stringMatching(/^4: .*cannot import Powertools/),
        expect.stringMatching(/^9: .*reads no process.env/),
        expect.stringMatching(/^10: .*never reads the clock/),
        expect.stringMatching(/^11: .*never reads the clock/),
      ]),
    );
  });

  it('allows the same code in an adapter', async () => {
    expect(await lint('src/adapters/whatever.ts')).toEqual([]);
  });
});

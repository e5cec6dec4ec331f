import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { LAYERS } from '../../eslint.config.js';

const eslint = new ESLint({ cwd: process.cwd() });

/** Lints `code` as if it were the file at `filePath`; returns "line: message" for each problem. */
async function lint(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.line}: ${m.message}`);
}

const fixture = (name: string) => readFile(`test/fixtures/lint/${name}`, 'utf8');

describe('the dependency arrows the linter enforces', () => {
  it.each([
    ['engine-imports-adapter.ts', 'src/engine/fixture.ts', /^2: .*src\/engine may not import src\/adapters/],
    ['api-imports-adapter.ts', 'src/api/fixture.ts', /^2: .*src\/api may not import src\/adapters/],
    ['adapter-imports-adapter.ts', 'src/adapters/cloudwatch/fixture.ts', /^2: .*An adapter may not import another adapter/],
    ['adapter-imports-engine.ts', 'src/adapters/local/fixture.ts', /^2: .*src\/adapters may not import src\/engine/],
    ['stack-imports-driver.ts', 'lib/fixture.ts', /^2: .*lib\/ may not import src\/adapters/],
    ['core-imports-port.ts', 'src/core/fixture.ts', /^2: .*src\/core may not import src\/ports/],
    ['lambda-imports-adapter.ts', 'lambdas/fixture.ts', /^2: .*lambdas\/ may not import src\/adapters/],
  ])('%s fails lint as %s, and only on the forbidden line', async (name, filePath, expected) => {
    const messages = await lint(await fixture(name), filePath);
    expect(messages).toEqual([expect.stringMatching(expected)]);
  });

  it('the same imports pass where the table allows them (composition wires adapters)', async () => {
    expect(await lint(await fixture('engine-imports-adapter.ts'), 'src/composition/fixture.ts')).toEqual([]);
    expect(await lint(await fixture('adapter-imports-engine.ts'), 'src/composition/aws/fixture.ts')).toEqual([]);
  });

  // Every cell of the table: a file in each layer importing each other layer fails exactly when the table says so.
  const cells = Object.keys(LAYERS).flatMap((from) =>
    Object.keys(LAYERS)
      .filter((to) => to !== from)
      .map((to) => [from, to] as const),
  );
  it.each(cells)('src/%s importing src/%s follows the table', async (from, to) => {
    const filePath = from === 'adapters' ? 'src/adapters/some-adapter/fixture.ts' : `src/${from}/fixture.ts`;
    const spec = from === 'adapters' ? `../../${to}/x.js` : `../${to}/x.js`;
    const messages = await lint(`import { x } from '${spec}';\nexport const y = x;\n`, filePath);
    const allowed = LAYERS[from]?.may.includes(to);
    if (allowed) expect(messages).toEqual([]);
    else expect(messages).toEqual([expect.stringContaining(`src/${from} may not import src/${to}`)]);
  });
});

/** Relative imports of a TypeScript file, resolved to repository paths. */
async function importsOf(file: string): Promise<string[]> {
  const source = await readFile(file, 'utf8');
  return [...source.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) =>
    relative(process.cwd(), resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'))),
  );
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => relative(process.cwd(), join(e.parentPath, e.name)));
}

describe('the module graph', () => {
  it('has no import cycle anywhere in src (the core had one between release.ts and approvals.ts)', async () => {
    const files = await filesUnder('src');
    const graph = new Map(await Promise.all(files.map(async (f) => [f, await importsOf(f)] as const)));
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });
});

describe('one home per rule: the screens render the wire contract', () => {
  it('src/contract imports only the core, and every screen may import it', () => {
    expect(LAYERS['contract']?.may).toEqual(['core']);
    for (const screen of ['api', 'cli', 'local', 'adapters']) expect(LAYERS[screen]?.may).toContain('contract');
  });

  // The CLI, the dashboard, the terminal progress and Slack: none lists the phases, labels steps or reads the core's sentences.
  const screens = [
    'src/cli/render.ts',
    'src/cli/markdown.ts',
    'src/cli/ci.ts',
    'src/cli/wait.ts',
    'src/cli/dashboard-server.ts',
    'src/ui/dashboard.js',
    'src/local/progress.ts',
    'src/adapters/slack/message.ts',
  ];
  it.each(screens)('%s restates no rule of the core', async (file) => {
    const source = await readFile(file, 'utf8');
    // A list of two or more phase names is a copy of the core's sets (final, promotable, …).
    expect(source).not.toMatch(
      /'(succeeded|rolled_back|failed|cancelled|superseded|queued|baking)',\s*'(succeeded|rolled_back|failed|cancelled|superseded|queued|baking)'/,
    );
    expect(source).not.toMatch(/FINAL/);
    expect(source).not.toMatch(/of production traffic on the new version\//);
    expect(source).not.toMatch(/type === 'setWeight'/);
  });
});

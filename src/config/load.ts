import { messageOf } from '../core/errors.js';
import { access, readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, resolveConfig, type SwitchyardConfig } from './config.js';

/**
 * Loads and validates a config file: `.ts`/`.mts`/`.cts`/`.js`/`.mjs`/`.cjs` exporting `defineConfig({...})` as
 * default, or `.json`. TypeScript files load through tsx's scoped import, wherever the file is (a directory
 * with or without a package.json, `"type": "module"` or not) and whether or not tsx is registered.
 * @throws {ConfigError} when the file is missing, cannot be loaded, or is invalid.
 */
export async function loadConfig(file: string): Promise<SwitchyardConfig> {
  return (await loadConfigWithSource(file)).config;
}

/** Like {@link loadConfig}, also returning the config object as written (the CDK stack bundles it). */
export async function loadConfigWithSource(file: string): Promise<{ config: SwitchyardConfig; raw: unknown }> {
  const path = resolve(file);
  let raw: unknown;
  try {
    await access(path);
  } catch {
    throw new ConfigError([{ path: '(file)', message: 'the file does not exist; pass --config with the path of your switchyard.config.ts' }], file);
  }
  try {
    if (extname(path) === '.json') {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } else {
      raw = defaultExport(await importModule(path));
      if (raw === undefined) throw new Error('it has no default export; write `export default defineConfig({ ... })`');
    }
  } catch (error) {
    throw new ConfigError([{ path: '(file)', message: loadFailure(error) }], file);
  }
  raw = await readTemplates(raw, dirname(path), file);
  return { config: resolveConfig(raw, file), raw };
}

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts', '.tsx']);

/**
 * A TypeScript config through tsx's `tsImport`: a plain `import()` of a `.ts` file outside an ESM package
 * fails on Node 20.19+ ("Cannot require() ES Module ... in a cycle") even with tsx registered.
 */
async function importModule(path: string): Promise<unknown> {
  const url = pathToFileURL(path).href;
  if (!TYPESCRIPT.has(extname(path))) return import(url);
  const { tsImport } = await import('tsx/esm/api');
  return tsImport(url, import.meta.url);
}

/** The config a module exports: ESM `export default`, or the same compiled to CommonJS (`exports.default`, `module.exports`). */
function defaultExport(mod: unknown): unknown {
  let value = (mod as { default?: unknown } | undefined)?.default;
  // CommonJS seen from ESM: the namespace's default is module.exports, which holds the real default.
  if (value !== null && typeof value === 'object' && '__esModule' in value && 'default' in value) value = (value as { default?: unknown }).default;
  return value;
}

/** Why a config file that exists could not be loaded, with the fix when it is a missing package. */
function loadFailure(error: unknown): string {
  const message = messageOf(error);
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    const name = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
    if (name === PACKAGE || name?.startsWith(`${PACKAGE}/`))
      return `it imports ${PACKAGE}, which is not installed where the config is: run \`npm install --save-dev ${PACKAGE}\` in its directory (${message.split('\n')[0]})`;
    return `it imports something that cannot be found: ${message.split('\n')[0]}`;
  }
  if (/Cannot use import statement outside a module|Unexpected token 'export'/.test(message))
    return `${message}: a .js config written with import/export needs "type": "module" in the nearest package.json; or name it .mjs, or write it in TypeScript (.ts)`;
  return message;
}

const PACKAGE = '@switchyard-release/switchyard';

/**
 * Task-definition templates named by path are read now, relative to the config file, and put in the
 * config object in their place: the object is what the stack bundles, so the file ships with it.
 */
async function readTemplates(raw: unknown, dir: string, file: string): Promise<unknown> {
  const services = (raw as { services?: unknown } | undefined)?.services;
  if (!Array.isArray(services)) return raw;
  const read = await Promise.all(
    services.map(async (service: unknown, i) => {
      const target = (service as { target?: { taskDefinition?: { template?: unknown } } } | undefined)?.target;
      const template = target?.taskDefinition?.template;
      if (typeof template !== 'string') return service;
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readFile(resolve(dir, template), 'utf8'));
      } catch (error) {
        throw new ConfigError([{ path: `services[${i}].target.taskDefinition.template`, message: `could not read ${template}: ${messageOf(error)}` }], file);
      }
      return { ...(service as object), target: { ...target, taskDefinition: { ...target?.taskDefinition, template: parsed } } };
    }),
  );
  return { ...(raw as object), services: read };
}

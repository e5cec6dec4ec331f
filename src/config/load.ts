import { messageOf } from '../core/errors.js';
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, resolveConfig, type SwitchyardConfig } from './config.js';

/**
 * Loads and validates a config file: `.ts`/`.mts`/`.js`/`.mjs` exporting `defineConfig({...})` as
 * default (TypeScript files load through tsx, which `switchyard` and `cdk` run under), or `.json`.
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
    if (extname(path) === '.json') {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } else {
      const mod: { default?: unknown } = await import(pathToFileURL(path).href);
      raw = mod.default;
      if (raw === undefined) throw new Error('it has no default export; write `export default defineConfig({ ... })`');
    }
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND'
        ? 'the file does not exist; pass --config with the path of your switchyard.config.ts'
        : messageOf(error);
    throw new ConfigError([{ path: '(file)', message: reason }], file);
  }
  return { config: resolveConfig(raw, file), raw };
}

import { messageOf } from '../core/errors.js';
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
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
  raw = await readTemplates(raw, dirname(path), file);
  return { config: resolveConfig(raw, file), raw };
}

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

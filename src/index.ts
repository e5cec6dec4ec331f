/** Public entry point for config files: `import { defineConfig } from '@switchyard-release/switchyard'`. */
export { defineConfig, resolveConfig, ConfigError } from './config/config.js';
export type { SwitchyardConfig, ServiceConfig, TargetConfig } from './config/config.js';
export type { SwitchyardConfigInput } from './config/schema.js';
export { loadConfig } from './config/load.js';

import type { DataPlaneChoice } from '../../config/schema.js';
import { HaproxyRouter } from './haproxy-router.js';
import { WeightedProxy } from './proxy.js';
import type { Router, RouterOptions } from './router.js';

/** The data planes a local service can have, by the `type` its config names. */
const ROUTERS: { readonly [K in DataPlaneChoice['type']]: (choice: Extract<DataPlaneChoice, { type: K }>, options: RouterOptions) => Router } = {
  builtin: (_choice, options) =>
    new WeightedProxy({
      name: options.name,
      port: options.port,
      upstreamTimeoutMs: options.upstreamTimeoutMs,
      ...(options.testPort !== undefined ? { testPort: options.testPort } : {}),
    }),
  haproxy: (choice, options) =>
    new HaproxyRouter({
      ...options,
      binary: choice.binary,
      ...(choice.threads !== undefined ? { threads: choice.threads } : {}),
      ...(choice.attach !== undefined ? { attach: choice.attach } : {}),
    }),
};

/** The router (data plane adapter) a service's config chooses: the built-in proxy unless it says otherwise. */
export function createRouter(choice: DataPlaneChoice | undefined, options: RouterOptions): Router {
  const chosen = choice ?? { type: 'builtin' };
  return (ROUTERS[chosen.type] as (choice: DataPlaneChoice, options: RouterOptions) => Router)(chosen, options);
}

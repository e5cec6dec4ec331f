import { resolveConfig, type ServiceConfig } from '../../src/config/config.js';
import { createRelease } from '../../src/core/transitions.js';
import type { Release } from '../../src/core/release.js';
import type { DataPlaneChoice, LocalTarget as LocalTargetConfig } from '../../src/config/schema.js';
import { T0 } from './releases.js';

/** The demo service as the local driver's contract suites run it: one replica, a canary plan, real processes. */
export function contractService(dataPlane?: DataPlaneChoice): { service: ServiceConfig; target: LocalTargetConfig } {
  const [service] = resolveConfig({
    services: [
      {
        name: 'demo',
        target: {
          driver: 'local',
          command: ['node', 'examples/demo-service/server.mjs'],
          replicas: 1,
          port: 18080,
          readiness: { path: '/ready', interval: 0, timeout: '5s' },
          drainTimeout: '1s',
          env: { STARTUP_MS: '10' },
          ...(dataPlane ? { dataPlane } : {}),
        },
        strategy: { type: 'canary', steps: [{ percent: 10, bake: '1m' }] },
      },
    ],
  }).services;
  if (!service || service.target.driver !== 'local') throw new Error('no local service');
  return { service, target: service.target };
}

/** A release of `image` for the contract's service. */
export function contractRelease(service: ServiceConfig, image: string): Release {
  return createRelease(
    {
      id: `r-${image.replace(':', '-')}`,
      service: 'demo',
      artifact: { image },
      plan: service.plan,
      settings: service.settings,
      actor: { id: 'ci', channel: 'api' },
    },
    T0,
  );
}

import { afterEach } from 'vitest';
import { startLocalMode, type LocalMode } from '../../src/composition/local-mode.js';
import { resolveConfig } from '../../src/config/config.js';
import { isTerminal } from '../../src/core/phases.js';
import type { Release } from '../../src/core/release.js';
import { LoadGenerator } from '../../src/local/load.js';

export interface Load {
  readonly requestsPerSecond: number;
  readonly concurrency: number;
}

/**
 * Local mode (in memory, ephemeral ports, token `t`) running one service, with a load generator on
 * its production route; both stopped after each test. Call once at the top of a test file; it
 * returns the function that starts them.
 */
export function localUnderLoad(defaults: Load = { requestsPerSecond: 150, concurrency: 6 }) {
  let mode: LocalMode | undefined;
  let load: LoadGenerator | undefined;
  afterEach(async () => {
    await load?.stop();
    await mode?.stop();
    mode = undefined;
    load = undefined;
  });
  return async (service: { readonly name: string } & Record<string, unknown>, traffic: Load = defaults) => {
    mode = await startLocalMode({ config: resolveConfig({ services: [service] }), port: 0, inMemory: true, ephemeralPorts: true, token: 't' });
    const target = mode.targets.get(service.name);
    if (!target) throw new Error(`local mode runs no service ${service.name}`);
    load = new LoadGenerator({ url: `http://127.0.0.1:${target.proxy.productionPort}/`, ...traffic });
    load.start();
    return { mode, target, load };
  };
}

/** The release has ended: succeeded, rolled back, failed, superseded or cancelled. */
export const ended = (release: Release): boolean => isTerminal(release.phase);

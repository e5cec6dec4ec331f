import { compilePlan } from '../../src/core/plan.js';
import { createRelease } from '../../src/core/transitions.js';
import { driverContract } from './driver-contract.js';
import { MemoryDriver } from './memory-driver.js';
import { canary, settings, T0 } from './releases.js';

// The test double keeps the contract too: tests built on it would otherwise prove nothing.
driverContract('the memory test double', async () => {
  const driver = new MemoryDriver();
  return {
    driver,
    release: (image) =>
      createRelease(
        { id: `r-${image}`, service: 'api', artifact: { image }, plan: compilePlan(canary), settings: settings(), actor: { id: 'ci', channel: 'api' } },
        T0,
      ),
    live: async (image) => {
      const s = driver.state('api');
      if (s.candidate === image) return s.weight;
      return s.stable === image ? 100 - (s.candidate ? s.weight : 0) : 0;
    },
    deployments: async (image) => [driver.state('api').candidate, driver.state('api').stable].filter((v) => v === image).length,
    elapse: () => undefined,
    close: async () => undefined,
  };
});

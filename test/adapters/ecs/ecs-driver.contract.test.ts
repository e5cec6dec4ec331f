import { ecsDriverFor } from '../../../src/composition/aws-drivers.js';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { resolveConfig } from '../../../src/config/config.js';
import { createRelease } from '../../../src/core/transitions.js';
import { VirtualClock } from '../../../src/ports/clock.js';
import { driverContract } from '../../support/driver-contract.js';
import { FAKE_ECS_TARGET, FakeEcs, ecsMock, installFakeEcs } from '../../support/fake-ecs.js';
import { T0 } from '../../support/releases.js';

/** The ecs driver on its SDK mock, answered by an ECS fake that walks service deployments on its own clock. */
function subject(strategy: Record<string, unknown>) {
  return async () => {
    const [service] = resolveConfig({ services: [{ name: 'api', target: FAKE_ECS_TARGET, strategy }] }).services;
    if (!service || service.target.driver !== 'ecs') throw new Error('no ecs service');
    const clock = new VirtualClock();
    const fake = new FakeEcs(clock);
    installFakeEcs(fake);
    const driver = ecsDriverFor(service, { ecs: ecsMock as unknown as ECSClient });
    const full = (image: string) => `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${image}`;
    const of = (image: string) => fake.deployments.filter((d) => fake.image(d.target) === full(image));
    return {
      driver,
      release: (image: string) =>
        createRelease(
          {
            id: `r-${image.replace(':', '-')}`,
            service: 'api',
            artifact: { image: full(image) },
            plan: service.plan,
            settings: service.settings,
            actor: { id: 'ci', channel: 'api' },
          },
          T0,
        ),
      live: async (image: string) =>
        Math.max(
          0,
          ...of(image)
            .map((d) => fake.describeDeployment(d.arn).targetServiceRevision?.requestedProductionTrafficWeight ?? 0)
            .map((w, i) => (of(image)[i]?.status === 'SUCCESSFUL' ? 100 : w)),
        ),
      // A rolling release starts nothing at deploy: what it holds then is its registered revision.
      deployments: async (image: string) =>
        service.plan.strategy === 'rolling' && of(image).length === 0
          ? [...fake.taskDefinitions.keys()].filter((arn) => fake.image(arn) === full(image)).length
          : of(image).length,
      // ECS's own clock runs only while the workflow waits between calls.
      elapse: (ms: number) => clock.advanceBy(ms),
      close: async () => undefined,
    };
  };
}

driverContract('the ecs driver (canary with PAUSE hooks)', subject({ type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '5m' }));
driverContract('the ecs driver (rolling update)', subject({ type: 'rolling', batch: 50 }));

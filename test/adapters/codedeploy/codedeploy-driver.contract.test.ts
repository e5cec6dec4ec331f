import { FAKE_TARGET, FakeCodeDeploy, installFakeAws, mocks } from '../../support/fake-codedeploy.js';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { CodeDeployDriver } from '../../../src/adapters/codedeploy/codedeploy-driver.js';
import { resolveConfig } from '../../../src/config/config.js';
import { createRelease } from '../../../src/core/transitions.js';
import { VirtualClock } from '../../../src/ports/clock.js';
import { driverContract } from '../../support/driver-contract.js';
import { T0 } from '../../support/releases.js';

// The CodeDeploy driver on its SDK mocks, answered by a CodeDeploy fake that shifts on its own clock.
driverContract('the CodeDeploy driver', async () => {
  const [service] = resolveConfig({
    services: [
      {
        name: 'api',
        target: FAKE_TARGET,
        strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '5m' },
      },
    ],
  }).services;
  if (!service || service.target.driver !== 'codedeploy') throw new Error('no codedeploy service');
  const clock = new VirtualClock();
  const fake = new FakeCodeDeploy(clock);
  installFakeAws(fake);
  const driver = new CodeDeployDriver({
    service: 'api',
    target: service.target,
    plan: service.plan,
    ecs: mocks.ecs as unknown as ECSClient,
    codedeploy: mocks.cd as unknown as CodeDeployClient,
  });
  const of = (image: string) => [...fake.deployments.keys()].filter((id) => fake.deployments.get(id)?.description.includes(image));
  return {
    driver,
    release: (image) =>
      createRelease(
        {
          id: `r-${image.replace(':', '-')}`,
          service: 'api',
          artifact: { image },
          plan: service.plan,
          settings: service.settings,
          actor: { id: 'ci', channel: 'api' },
        },
        T0,
      ),
    live: async (image) => {
      const weights = of(image).map((id) =>
        fake.get(id).deploymentInfo.status === 'Succeeded' ? 100 : (fake.targets(id).deploymentTargets[0]?.ecsTarget.taskSetsInfo[1]?.trafficWeight ?? 0),
      );
      return Math.max(0, ...weights);
    },
    deployments: async (image) => of(image).length,
    elapse: (ms) => clock.advanceBy(ms),
    close: async () => undefined,
  };
});

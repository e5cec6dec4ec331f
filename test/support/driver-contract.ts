import { describe, expect, it } from 'vitest';
import { AlreadyFinalizedError } from '../../src/core/errors.js';
import type { Release } from '../../src/core/release.js';
import { markDeployed, withDriverState } from '../../src/core/transitions.js';
import { ECS_HOOK_LIMITS, holdSupport } from '../../src/config/config.js';
import { pauseRefusal } from '../../src/core/pause.js';
import { TARGET_POLL_SECONDS } from '../../src/core/target-waits.js';
import type { Progress, TrafficDriver } from '../../src/ports/traffic-driver.js';
import { T0 } from './releases.js';

/**
 * What the contract suite needs of one driver under test. `live` and `deployments` read the
 * target itself (the proxy's weights, the fake CodeDeploy's deployment, the memory state), never
 * the driver, so a driver that says one thing and does another fails.
 */
export interface DriverSubject {
  readonly driver: TrafficDriver;
  /** A new release of `image` for the subject's service, as the engine creates it. */
  release(image: string): Release;
  /** The share of production traffic the target itself sends to `image`, in percent. */
  live(image: string): Promise<number>;
  /** How many deployments of `image` the target holds (process generations, CodeDeploy deployments). */
  deployments(image: string): Promise<number>;
  /** Lets the target's own clock run (CodeDeploy shifts on its timer); a no-op where shifts are immediate. */
  elapse(ms: number): void;
  close(): Promise<void>;
}

/**
 * Runs a step the way the workflow does: one call, and while the target says "not yet", the state it
 * returned is kept, the target's clock runs for the workflow's poll interval, and the step is asked
 * again. A call never waits itself (no driver has a sleep); a target that never gets there fails here.
 */
export async function settle(subject: Pick<DriverSubject, 'elapse'>, release: Release, step: (r: Release) => Promise<Progress>): Promise<Release> {
  let current = release;
  for (let asks = 0; asks < 400; asks++) {
    const progress = await step(current);
    current = withDriverState(current, progress.state);
    if (progress.done) return current;
    subject.elapse((progress.askAgainSeconds ?? TARGET_POLL_SECONDS) * 1000);
  }
  throw new Error(`the target never finished (${release.id})`);
}

const HOUR = 3_600_000;

/** The image name each release of the suite was made from, as `live` takes it. */
const imageOf = new Map<string, string>();

/** Deploys `image` and returns the release as the engine would store it after the Deploy task. */
async function deployed(subject: DriverSubject, image: string): Promise<Release> {
  imageOf.set(subject.release(image).id, image);
  const release = await settle(subject, subject.release(image), (r) => subject.driver.deploy(r));
  return markDeployed(release, T0);
}

/**
 * Sets a weight the way the workflow does: state the driver hands back is kept with the release, and
 * a target that moves on its own clock (ECS leaving a hook, CodeDeploy's interval) is asked again
 * after the workflow's poll interval until it reads `percent` or more.
 */
async function shift(subject: DriverSubject, release: Release, percent: number): Promise<Release> {
  let current = release;
  for (let asks = 0; asks < 400; asks++) {
    current = withDriverState(current, (await subject.driver.setWeight(current, percent)) ?? undefined);
    // Both the driver's reading and the target itself: a driver that claims a share early fails here.
    if ((await subject.driver.verify(current)) >= percent && (await subject.live(imageOf.get(release.id) ?? '')) >= percent) return current;
    subject.elapse(TARGET_POLL_SECONDS * 1000);
  }
  throw new Error(`the target never reached ${percent}% (${release.id})`);
}

/** Takes the release to 100% the way the workflow does: a first step, then 100. */
async function toFull(subject: DriverSubject, release: Release): Promise<Release> {
  return shift(subject, await shift(subject, release, 10), 100);
}

/**
 * The TrafficDriver contract: the same scenarios, run against every driver (the memory double,
 * the local driver, CodeDeploy on its SDK mocks, and every driver added later). Every method is
 * idempotent because the workflow retries them; a rollback after finalize says so.
 */
export function driverContract(name: string, make: () => Promise<DriverSubject>, { timeout = 30_000 }: { timeout?: number } = {}): void {
  describe(`TrafficDriver contract: ${name}`, () => {
    const withSubject = (body: (subject: DriverSubject) => Promise<void>) => async () => {
      const subject = await make();
      try {
        await body(subject);
      } finally {
        await subject.close();
      }
    };

    it(
      'deploy starts the new version with 0% of production traffic; a retried deploy (its state never saved) starts nothing twice',
      withSubject(async (subject) => {
        const release = subject.release('app:2');
        // Every call of the way asked twice, the first answer's state lost: the retry finds the same work again.
        const twice = async (r: Release): Promise<Progress> => {
          await subject.driver.deploy(r);
          return subject.driver.deploy(r);
        };
        const ready = await settle(subject, release, twice);
        expect(await subject.deployments('app:2')).toBe(1);
        const stored = markDeployed(ready, T0);
        expect(await subject.driver.verify(stored)).toBe(0);
        expect(await subject.live('app:2')).toBe(0);
      }),
      timeout,
    );

    it(
      'setWeight moves production traffic and verify reads back what the target shows; a retried setWeight changes nothing',
      withSubject(async (subject) => {
        const release = await shift(subject, await deployed(subject, 'app:2'), 10);
        const live = await subject.live('app:2');
        if (subject.driver.capabilities.arbitrarySteps) expect(live).toBe(10);
        else expect(live).toBeGreaterThanOrEqual(10);
        // A driver that shifts on its own reads the target a moment later than `live` did.
        if (subject.driver.capabilities.holds) expect(await subject.driver.verify(release)).toBe(live);
        else expect(await subject.driver.verify(release)).toBeGreaterThanOrEqual(10);
        await shift(subject, release, 10);
        expect(await subject.live('app:2')).toBe(live);
      }),
      timeout,
    );

    it(
      'rollback puts all production traffic back on the stable version; a retried rollback is harmless',
      withSubject(async (subject) => {
        const release = await shift(subject, await deployed(subject, 'app:2'), 10);
        const back = await settle(subject, release, (r) => subject.driver.rollback(r));
        expect(await subject.live('app:2')).toBe(0);
        await settle(subject, back, (r) => subject.driver.rollback(r));
        expect(await subject.live('app:2')).toBe(0);
      }),
      timeout,
    );

    it(
      'rollback before any traffic moved removes the new version',
      withSubject(async (subject) => {
        const release = await deployed(subject, 'app:2');
        await settle(subject, release, (r) => subject.driver.rollback(r));
        expect(await subject.live('app:2')).toBe(0);
      }),
      timeout,
    );

    it(
      'finalize makes the new version the stable one with all the traffic; a retried finalize is harmless',
      withSubject(async (subject) => {
        const release = await toFull(subject, await deployed(subject, 'app:2'));
        const finalized = await settle(subject, release, (r) => subject.driver.finalize(r));
        expect(await subject.live('app:2')).toBe(100);
        await settle(subject, finalized, (r) => subject.driver.finalize(r));
        expect(await subject.live('app:2')).toBe(100);
      }),
      timeout,
    );

    it(
      'pause: a driver that holds keeps traffic where it is, untouched, as long as a pause may last; one that cannot moves on by itself, and pause is refused with why',
      withSubject(async (subject) => {
        const release = await shift(subject, await deployed(subject, 'app:2'), 10);
        const hold = holdSupport(subject.driver.capabilities, release.plan, release.settings);
        // The service's config says what its driver says.
        if (release.settings.hold) expect(release.settings.hold).toEqual(hold);
        const live = await subject.live('app:2');
        if (!hold.can) {
          expect(pauseRefusal(release, T0)).toBe(`release ${release.id} cannot be paused: ${hold.why}`);
          // The reason is real: left alone, the target moves on its own clock.
          subject.elapse(HOUR);
          expect(await subject.live('app:2')).toBeGreaterThan(live);
          return;
        }
        // Held to a minute before its limit (a week where there is none): the target's clock runs, Switchyard calls nothing.
        subject.elapse(((hold.limitSeconds ?? 7 * 24 * 3600) - 60) * 1000);
        expect(await subject.live('app:2')).toBe(live);
        expect(await subject.driver.verify(release)).toBe(live);
        if (hold.limitSeconds !== undefined) {
          // The limit is real: past it and the margin, the target decides by itself (why a pause ends in a rollback first).
          subject.elapse((ECS_HOOK_LIMITS.marginMinutes + 2) * 60_000);
          expect(await subject.live('app:2')).toBe(0);
          return;
        }
        // Resumed: the next step goes through.
        await shift(subject, release, 100);
        expect(await subject.live('app:2')).toBe(100);
      }),
      timeout,
    );

    it(
      'rollback after finalize refuses with AlreadyFinalizedError and leaves the new version serving',
      withSubject(async (subject) => {
        const release = await settle(subject, await toFull(subject, await deployed(subject, 'app:2')), (r) => subject.driver.finalize(r));
        await expect(subject.driver.rollback(release)).rejects.toBeInstanceOf(AlreadyFinalizedError);
        expect(await subject.live('app:2')).toBe(100);
      }),
      timeout,
    );
  });
}

import { describe, expect, it } from 'vitest';
import { AlreadyFinalizedError } from '../../src/core/errors.js';
import { markDeployed, type Release } from '../../src/core/release.js';
import type { TrafficDriver } from '../../src/ports/traffic-driver.js';
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

const HOUR = 3600_000;

/** Deploys `image` and returns the release as the engine would store it after the Deploy task. */
async function deployed(subject: DriverSubject, image: string): Promise<Release> {
  const release = subject.release(image);
  const state = await subject.driver.deploy(release);
  return markDeployed(release, T0, state ?? undefined);
}

/** Sets a weight the way the workflow does: state the driver hands back is kept with the release. */
async function shift(subject: DriverSubject, release: Release, percent: number): Promise<Release> {
  const state = await subject.driver.setWeight(release, percent);
  return state ? { ...release, driverState: { ...release.driverState, ...state } } : release;
}

/** Takes the release to 100% the way the workflow does: a first step, the target's interval, then 100. */
async function toFull(subject: DriverSubject, release: Release): Promise<Release> {
  const first = await shift(subject, release, 10);
  subject.elapse(HOUR);
  return shift(subject, first, 100);
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
        const first = await subject.driver.deploy(release);
        const again = await subject.driver.deploy(release);
        // The retry finds the same work again (what it can tell of it agrees with the first answer).
        expect(first).toMatchObject(again ?? {});
        expect(await subject.deployments('app:2')).toBe(1);
        const stored = markDeployed(release, T0, first ?? undefined);
        expect(await subject.driver.verify(stored)).toBe(0);
        expect(await subject.live('app:2')).toBe(0);
      }),
      timeout,
    );

    it(
      'setWeight moves production traffic and verify reads back what the target shows; a retried setWeight changes nothing',
      withSubject(async (subject) => {
        const release = await shift(subject, await deployed(subject, 'app:2'), 10);
        // A target that moves on its own (CodeDeploy's timer, ECS replacing tasks) gets a minute to get there.
        if (!subject.driver.capabilities.holds) subject.elapse(60_000);
        const live = await subject.live('app:2');
        if (subject.driver.capabilities.arbitrarySteps) expect(live).toBe(10);
        else expect(live).toBeGreaterThanOrEqual(10);
        expect(await subject.driver.verify(release)).toBe(live);
        await shift(subject, release, 10);
        expect(await subject.live('app:2')).toBe(live);
      }),
      timeout,
    );

    it(
      'rollback puts all production traffic back on the stable version; a retried rollback is harmless',
      withSubject(async (subject) => {
        const release = await shift(subject, await deployed(subject, 'app:2'), 10);
        await subject.driver.rollback(release);
        expect(await subject.live('app:2')).toBe(0);
        await subject.driver.rollback(release);
        expect(await subject.live('app:2')).toBe(0);
      }),
      timeout,
    );

    it(
      'rollback before any traffic moved removes the new version',
      withSubject(async (subject) => {
        const release = await deployed(subject, 'app:2');
        await subject.driver.rollback(release);
        expect(await subject.live('app:2')).toBe(0);
      }),
      timeout,
    );

    it(
      'finalize makes the new version the stable one with all the traffic; a retried finalize is harmless',
      withSubject(async (subject) => {
        const release = await toFull(subject, await deployed(subject, 'app:2'));
        await subject.driver.finalize(release);
        expect(await subject.live('app:2')).toBe(100);
        await subject.driver.finalize(release);
        expect(await subject.live('app:2')).toBe(100);
      }),
      timeout,
    );

    it(
      'rollback after finalize refuses with AlreadyFinalizedError and leaves the new version serving',
      withSubject(async (subject) => {
        const release = await toFull(subject, await deployed(subject, 'app:2'));
        await subject.driver.finalize(release);
        await expect(subject.driver.rollback(release)).rejects.toBeInstanceOf(AlreadyFinalizedError);
        expect(await subject.live('app:2')).toBe(100);
      }),
      timeout,
    );
  });
}

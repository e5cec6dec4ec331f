import type { GateSpec, Observation } from '../core/gates.js';
import type { Release } from '../core/release.js';

/** Reads what the gates need: alarm states and metric datapoints of the new version. */
export interface MetricsSource {
  /**
   * One observation per gate. A gate whose data could not be read yields an `error` observation;
   * the method itself throws only when nothing at all could be read.
   */
  observe(release: Release, gates: readonly GateSpec[], now: number): Promise<Observation[]>;
}

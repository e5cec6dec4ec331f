import { LOCAL_CAPABILITIES, type DriverCapabilities } from '../../src/core/capabilities.js';
import type { GateSpec, Observation } from '../../src/core/gates.js';
import type { Release } from '../../src/core/release.js';
import type { MetricsSource } from '../../src/ports/metrics-source.js';
import { done, type Progress, type TrafficDriver } from '../../src/ports/traffic-driver.js';
import { AlreadyFinalizedError, DeployError } from '../../src/core/errors.js';

export type DriverMethod = 'deploy' | 'setWeight' | 'verify' | 'rollback' | 'finalize';

/** Per service: which image serves and how production traffic is split. */
export interface ServiceTraffic {
  stable: string;
  candidate?: string;
  weight: number;
}

/**
 * The test double driver: traffic lives in memory, every call is recorded, and any call can be
 * made to throw. It enforces what a real driver would: no weight without a deployed candidate.
 */
export class MemoryDriver implements TrafficDriver {
  readonly capabilities: DriverCapabilities = LOCAL_CAPABILITIES;
  readonly traffic = new Map<string, ServiceTraffic>();
  readonly calls: { method: DriverMethod; service: string; releaseId: string; percent?: number }[] = [];
  /** Throw from `method` (optionally only for `times` calls) with this error. */
  failures: { method: DriverMethod; error?: () => Error; hang?: boolean; times?: number; service?: string }[] = [];
  /** Images whose deploy never gets ready. */
  broken = new Set<string>();

  state(service: string): ServiceTraffic {
    let s = this.traffic.get(service);
    if (!s) {
      s = { stable: 'v0', weight: 0 };
      this.traffic.set(service, s);
    }
    return s;
  }

  private async enter(method: DriverMethod, release: Release, percent?: number): Promise<void> {
    this.calls.push({ method, service: release.service, releaseId: release.id, ...(percent === undefined ? {} : { percent }) });
    const failure = this.failures.find(
      (f) => f.method === method && (f.service === undefined || f.service === release.service) && (f.times === undefined || f.times > 0),
    );
    if (failure) {
      if (failure.times !== undefined) failure.times--;
      // A hung call never answers; the workflow's task timeout has to deal with it.
      if (failure.hang) return new Promise<void>(() => undefined);
      throw (failure.error ?? (() => new Error(`${method} failed`)))();
    }
  }

  async deploy(release: Release): Promise<Progress> {
    await this.enter('deploy', release);
    if (this.broken.has(release.artifact.image)) throw new DeployError(`readiness probe GET /ready never succeeded within 5s: connection refused`);
    this.state(release.service).candidate = release.artifact.image;
    return done();
  }

  async setWeight(release: Release, percent: number): Promise<void> {
    await this.enter('setWeight', release, percent);
    const s = this.state(release.service);
    if (s.candidate !== release.artifact.image) throw new Error(`no candidate ${release.artifact.image} deployed for ${release.service}`);
    s.weight = percent;
  }

  async verify(release: Release): Promise<number> {
    await this.enter('verify', release);
    return this.state(release.service).weight;
  }

  async rollback(release: Release): Promise<Progress> {
    await this.enter('rollback', release);
    const s = this.state(release.service);
    if (s.stable === release.artifact.image && s.candidate === undefined) throw new AlreadyFinalizedError(`${release.artifact.image} was already finalized`);
    if (s.candidate === release.artifact.image) {
      s.weight = 0;
      delete s.candidate;
    }
    return done();
  }

  async finalize(release: Release): Promise<Progress> {
    await this.enter('finalize', release);
    const s = this.state(release.service);
    if (s.stable === release.artifact.image && s.candidate === undefined) return done(); // idempotent, like the real drivers
    if (s.candidate !== release.artifact.image || s.weight !== 100) throw new Error(`cannot finalize ${release.artifact.image}: ${s.weight}% on it`);
    s.stable = release.artifact.image;
    s.weight = 0;
    delete s.candidate;
    return done();
  }
}

/** Metrics for the test double: an error rate per image, healthy unless told otherwise. */
export class ScriptedMetrics implements MetricsSource {
  errorRate = new Map<string, number>();
  failing = false;
  reads = 0;

  async observe(release: Release, gates: readonly GateSpec[], now: number): Promise<Observation[]> {
    this.reads++;
    if (this.failing) throw new Error('metrics backend unavailable');
    const value = this.errorRate.get(release.artifact.image) ?? 0;
    return gates.map((g): Observation =>
      g.kind === 'alarm'
        ? { gate: g.name, kind: 'alarm', state: 'OK' }
        : { gate: g.name, kind: 'metric', datapoints: [{ timestamp: new Date(now - 1000).toISOString(), value, samples: 1000 }] },
    );
  }
}

import { LOCAL_CAPABILITIES } from '../../core/capabilities.js';
import { trafficStops } from '../../core/plan.js';
import { isTargetMetric, PROCESS_HEALTH_GATE, type GateSpec, type JudgePeriod, type Observation } from '../../core/gates.js';
import { HISTORY_MINUTES } from '../../core/judge.js';
import type { VersionMetrics } from './version-metrics.js';
import type { Release } from '../../core/release.js';
import type { LocalTarget as LocalTargetConfig } from '../../config/schema.js';
import type { MetricsSource } from '../../ports/metrics-source.js';
import type { ServiceHealth } from '../../ports/traffic-driver.js';
import { done, type Progress, type TrafficDriver } from '../../ports/traffic-driver.js';
import type { Router } from './router.js';
import { createRouter } from './routers.js';
import { spawnProcess, stopProcess, type ManagedProcess } from './processes.js';
import type { ProcessRecords } from './process-records.js';
import { waitReady } from './readiness.js';
import { LatencyHistogram } from './latency-histogram.js';
import type { Log } from '../../ports/log.js';
import { AlreadyFinalizedError, DeployError, messageOf } from '../../core/errors.js';

interface Generation {
  /** Unique label in the proxy and the metrics (a version can be released again). */
  readonly label: string;
  readonly version: string;
  readonly processes: ManagedProcess[];
  crash?: string;
  /** Restarts of crashed replicas so far (the stable version is supervised, as ECS replaces tasks). */
  restarts: number;
}

/** How long after the proxy's last descriptor error the service counts as down. */
const DESCRIPTOR_ERROR_WINDOW_MS = 10_000;

/** Backoff between restarts of a crashed replica: 0.5 s doubling to 30 s. */
const RESTART_BACKOFF_MS = { first: 500, max: 30_000 };

export interface LocalTargetOptions {
  readonly service: string;
  readonly config: LocalTargetConfig;
  readonly logDir: string;
  /** Where its processes are recorded for reaping after a crash. @default not recorded */
  readonly records?: ProcessRecords;
  readonly log?: Log;
  /** Bind the proxy to free ports instead of the configured ones (tests). */
  readonly ephemeralPorts?: boolean;
  /** The user and group its processes run as (when the data plane runs as root). */
  readonly runAs?: { readonly uid: number; readonly gid: number };
  /** Called when its processes change on their own (a crash, a restart), for those who watch it. */
  readonly onChange?: () => void;
  /** A private folder for the data plane's own files (HAProxy's configuration and admin socket). @default a temporary one */
  readonly stateDir?: string;
}

/**
 * One local service: its processes and the proxy in front of them. It is the service's traffic
 * driver (deploy, setWeight, verify, rollback, finalize) and its metrics source.
 */
/**
 * Latency bins of the judge: the proxy's own histogram buckets (1% wide) from 0.1 ms to 60 s, sent
 * sparse. Coarser bins cost the judge its latency signal: with 20% bins, +20% was never caught.
 */
export const JUDGE_LATENCY_BINS = LatencyHistogram.buckets(0.0001, 60);
const JUDGE_LATENCY_BOUNDS = JUDGE_LATENCY_BINS.bounds;

/**
 * The judge's periods from `from` to `to`: both versions' counts and 1% latency buckets, the same
 * windows on both sides (the benchmark reads them through this too, so it measures the product path).
 */
export function judgePeriods(metrics: VersionMetrics, candidate: string, stable: string, periodSeconds: number, from: number, to: number): JudgePeriod[] {
  const side = (label: string) => metrics.periods(label, periodSeconds, from, to, { first: JUDGE_LATENCY_BINS.first, size: JUDGE_LATENCY_BOUNDS.length });
  const baseline = side(stable);
  return side(candidate).map((c, i) => {
    const b = baseline[i] ?? { requests: 0, errors: 0, latency: [], latencyAt: [] };
    return {
      start: new Date(c.start).toISOString(),
      candidate: { requests: c.requests, errors: c.errors, latency: c.latency, latencyAt: c.latencyAt },
      baseline: { requests: b.requests, errors: b.errors, latency: b.latency, latencyAt: b.latencyAt },
    };
  });
}

export class LocalTarget implements TrafficDriver, MetricsSource {
  readonly capabilities = LOCAL_CAPABILITIES;
  /** The data plane in front of the processes: the built-in proxy or HAProxy (see router.ts). */
  readonly proxy: Router;
  private stable: Generation | undefined;
  /** The judge's history of the step being judged, read once (by stable label and step start). */
  private history: { key: string; minutes: { requests: number; errors: number }[] } | undefined;
  private candidate: Generation | undefined;
  private generation = 0;
  private closed = false;

  constructor(private readonly options: LocalTargetOptions) {
    this.proxy = createRouter(options.config.dataPlane, {
      name: options.service,
      port: options.ephemeralPorts ? 0 : options.config.port,
      upstreamTimeoutMs: options.config.upstreamTimeout * 1000,
      readinessPath: options.config.readiness.path,
      replicas: options.config.replicas,
      ...(options.config.testPort !== undefined ? { testPort: options.ephemeralPorts ? 0 : options.config.testPort } : {}),
      ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}),
    });
  }

  get stableVersion(): string | undefined {
    return this.stable?.version;
  }
  get candidateVersion(): string | undefined {
    return this.candidate?.version;
  }
  /** Production traffic per version, in percent, as the proxy routes it now. */
  get traffic(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const g of [this.stable, this.candidate]) if (g) out[g.version] = this.proxy.weightOf(g.label);
    return out;
  }
  /** Ports of a version's live processes (to reach one backend directly, bypassing the proxy). */
  backendPorts(version: string): number[] {
    return [this.stable, this.candidate].flatMap((g) => (g?.version === version ? g.processes.filter((p) => !p.exit).map((p) => p.port) : []));
  }
  /** Live processes of the version being released. */
  get candidatePids(): number[] {
    return this.candidate?.processes.filter((p) => !p.exit).map((p) => p.pid) ?? [];
  }
  /** Every process this target started and has not seen exit. */
  get pids(): number[] {
    return [this.stable, this.candidate].flatMap((g) => g?.processes.filter((p) => !p.exit).map((p) => p.pid) ?? []);
  }

  /** Starts the proxy and the stable version with 100% of production traffic. */
  async start(stableVersion: string): Promise<void> {
    // The stable version is ready before the proxy listens: a (re)start never answers 503 meanwhile.
    const generation = await this.launch(stableVersion);
    this.stable = generation;
    await this.proxy.setWeights({ [generation.label]: 100 });
    await this.proxy.start();
  }

  private async launch(version: string, count = this.options.config.replicas): Promise<Generation> {
    const label = `${version}#${++this.generation}`;
    const generation: Generation = { label, version, processes: [], restarts: 0 };
    await this.grow(generation, count);
    return generation;
  }

  /** Starts replicas until the generation has `count`, all ready before any takes a request. */
  private async grow(generation: Generation, count: number): Promise<void> {
    const { config } = this.options;
    const fresh: ManagedProcess[] = [];
    for (let index = generation.processes.length; index < count; index++) fresh.push(await this.spawnReplica(generation, index));
    try {
      await Promise.all(fresh.map((p) => waitReady(p, config.readiness)));
    } catch (error) {
      await Promise.all(fresh.map((p) => stopProcess(p, config.drainTimeout * 1000)));
      throw new DeployError(`${generation.version} never became ready: ${messageOf(error)}`);
    }
    generation.processes.push(...fresh);
    for (const p of fresh) await this.proxy.addBackend({ id: `${generation.label}/${p.pid}`, version: generation.label, port: p.port });
  }

  /** Takes replicas out of routing until `keep` are left (in-flight requests carry on); returns them for {@link stopDetached}. */
  private async detach(generation: Generation, keep: number): Promise<ManagedProcess[]> {
    const leaving = generation.processes.splice(keep);
    for (const p of leaving) await this.proxy.drainBackend(`${generation.label}/${p.pid}`);
    return leaving;
  }

  /** Waits for detached replicas' in-flight requests (up to the drain timeout), then stops them. */
  private async stopDetached(generation: Generation, leaving: readonly ManagedProcess[]): Promise<void> {
    const ids = leaving.map((p) => `${generation.label}/${p.pid}`);
    const graceMs = this.options.config.drainTimeout * 1000;
    await this.proxy.waitBackendsIdle(ids, graceMs);
    await Promise.all(leaving.map((p) => stopProcess(p, graceMs)));
    for (const id of ids) await this.proxy.removeBackend(id);
  }

  /** Rolling: production is shared by ready replicas, one share each, whichever version they run. */
  private async weighByReplicas(candidate: Generation, stable: Generation | undefined): Promise<void> {
    const n = candidate.processes.length;
    const o = stable?.processes.length ?? 0;
    const newShare = o === 0 ? 100 : Math.round((1000 * n) / (n + o)) / 10;
    await this.proxy.setWeights({ ...(stable && o > 0 ? { [stable.label]: 100 - newShare } : {}), [candidate.label]: newShare });
  }

  /** Rolling: the new version's replicas at `percent` of the desired count (whole replicas, rounded up). */
  private replicasAt(percent: number): number {
    const wanted = this.options.config.replicas;
    return Math.min(wanted, Math.max(percent > 0 ? 1 : 0, Math.ceil((percent * wanted) / 100 - 1e-9)));
  }

  private spawnReplica(generation: Generation, index: number): Promise<ManagedProcess> {
    const { config, service } = this.options;
    return spawnProcess({
      service,
      version: generation.version,
      index,
      command: config.command,
      ...(config.env ? { env: config.env } : {}),
      ...(this.options.runAs ? { runAs: this.options.runAs } : {}),
      logDir: this.options.logDir,
      ...(this.options.records ? { records: this.options.records } : {}),
      onExit: (proc, exit) => {
        if (proc.stopping || this.closed) return;
        const what = `process ${proc.pid} of ${generation.version} exited unexpectedly with ${exit.signal ?? `code ${exit.code}`}`;
        generation.crash ??= what;
        this.options.log?.warn(what, { service, version: generation.version, pid: proc.pid });
        this.options.onChange?.();
        // The stable version is supervised: a crashed replica is replaced (a new version's crash is a gate's business).
        if (generation === this.stable) void this.replace(generation, proc, index);
      },
    });
  }

  /** Replaces a crashed stable replica after a backoff, once the new process is ready; retries until it is. */
  private async replace(generation: Generation, dead: ManagedProcess, index: number): Promise<void> {
    const delay = Math.min(RESTART_BACKOFF_MS.max, RESTART_BACKOFF_MS.first * 2 ** Math.min(generation.restarts, 10));
    generation.restarts++;
    await new Promise((r) => setTimeout(r, delay));
    if (this.closed || generation !== this.stable) return;
    let fresh: ManagedProcess | undefined;
    try {
      fresh = await this.spawnReplica(generation, index);
      await waitReady(fresh, this.options.config.readiness);
    } catch (error) {
      this.options.log?.warn('could not restart a crashed replica; trying again', {
        service: this.options.service,
        version: generation.version,
        error: messageOf(error),
      });
      if (fresh && !fresh.exit) await stopProcess(fresh, 1000);
      void this.replace(generation, dead, index);
      return;
    }
    const at = generation.processes.indexOf(dead);
    if (at >= 0) generation.processes[at] = fresh;
    else generation.processes.push(fresh);
    try {
      await this.proxy.addBackend({ id: `${generation.label}/${fresh.pid}`, version: generation.label, port: fresh.port });
      await this.proxy.removeBackend(`${generation.label}/${dead.pid}`);
    } catch (error) {
      // The data plane itself is being restarted (HAProxy's supervision reconciles its servers when it is back).
      this.options.log?.warn('could not route to a restarted replica yet', { service: this.options.service, error: messageOf(error) });
    }
    this.options.log?.info('restarted a crashed replica', { service: this.options.service, version: generation.version, pid: fresh.pid });
    this.options.onChange?.();
  }

  /**
   * Sends all production traffic to the stable version now, whatever a release had shifted, and
   * keeps both versions' processes (for when Switchyard cannot record a release any more: its store failed).
   */
  async holdStable(): Promise<void> {
    if (this.stable) await this.proxy.setWeights({ [this.stable.label]: 100 });
  }

  /** The stable version's replicas as they run now: ok, degraded (some down) or down. */
  health(now = Date.now()): ServiceHealth {
    const stable = this.stable;
    const wanted = this.options.config.replicas;
    const running = stable?.processes.filter((p) => !p.exit).length ?? 0;
    // At the descriptor limit the proxy cannot reach any backend: every request answers 502, so the
    // service is down whatever its replicas are doing.
    const { lastDescriptorErrorAt, failure } = this.proxy.health();
    const outOfDescriptors = lastDescriptorErrorAt !== undefined && now - lastDescriptorErrorAt < DESCRIPTOR_ERROR_WINDOW_MS;
    return {
      status: outOfDescriptors || failure !== undefined || running === 0 ? 'down' : running >= wanted ? 'ok' : 'degraded',
      ...(stable ? { version: stable.version } : {}),
      replicas: { wanted, running },
      restarts: stable?.restarts ?? 0,
      ...(outOfDescriptors
        ? {
            reason: `its proxy ran out of file descriptors (EMFILE) ${Math.round((now - lastDescriptorErrorAt) / 1000)} s ago: requests fail with 502; raise the open-file limit (ulimit -n, or LimitNOFILE= under systemd) or find what holds the connections`,
          }
        : failure !== undefined
          ? { reason: failure }
          : {}),
    };
  }

  private async stop(generation: Generation): Promise<void> {
    const graceMs = this.options.config.drainTimeout * 1000;
    await Promise.all(generation.processes.map((p) => stopProcess(p, graceMs)));
  }

  /** No new requests, in-flight ones finish (up to the drain timeout), then SIGTERM and SIGKILL. */
  private async retire(generation: Generation): Promise<void> {
    await this.proxy.drain(generation.label);
    await this.proxy.waitIdle(generation.label, this.options.config.drainTimeout * 1000);
    await this.stop(generation);
    await this.proxy.removeVersion(generation.label);
  }

  private candidateOf(release: Release): Generation {
    const c = this.candidate;
    if (!c || c.version !== release.artifact.image)
      throw new Error(`${release.artifact.image} is not deployed for ${this.options.service}; the candidate is ${c?.version ?? 'none'}`);
    return c;
  }

  /** Local processes get ready within the call (their readiness probe has its own short timeout): always done. */
  async deploy(release: Release): Promise<Progress> {
    const version = release.artifact.image;
    if (this.candidate?.version === version && !this.candidate.crash) return done();
    if (this.candidate) await this.retire(this.candidate);
    this.candidate = undefined;
    // Rolling: only the first batch starts now (test traffic only); the rest replace old replicas batch by batch.
    const count = release.plan.strategy === 'rolling' ? this.replicasAt(trafficStops(release.plan)[0] ?? 100) : this.options.config.replicas;
    const generation = await this.launch(version, count);
    this.candidate = generation;
    await this.proxy.setTestVersion(generation.label);
    return done();
  }

  async setWeight(release: Release, percent: number): Promise<void> {
    const candidate = this.candidateOf(release);
    const stable = this.stable;
    if (release.plan.strategy === 'rolling') return this.roll(candidate, stable, percent);
    if (!stable && percent < 100) throw new Error(`no stable version of ${this.options.service} to share traffic with`);
    await this.proxy.setWeights({ ...(stable ? { [stable.label]: 100 - percent } : {}), [candidate.label]: percent });
  }

  /**
   * One batch of a rolling release: new replicas started and ready first, production shared by the
   * ready replicas, then as many old ones drained and stopped. A retried batch changes nothing.
   */
  private async roll(candidate: Generation, stable: Generation | undefined, percent: number): Promise<void> {
    const keep = this.options.config.replicas - this.replicasAt(percent);
    await this.grow(candidate, this.replicasAt(percent));
    await this.weighByReplicas(candidate, stable);
    if (stable && stable.processes.length > keep) {
      const leaving = await this.detach(stable, keep);
      await this.weighByReplicas(candidate, stable);
      await this.stopDetached(stable, leaving);
    }
  }

  async verify(release: Release): Promise<number> {
    return this.proxy.weightOf(this.candidateOf(release).label);
  }

  async rollback(release: Release): Promise<Progress> {
    if (this.stable?.version === release.artifact.image && this.candidate === undefined) {
      // Finalized already: the old version is gone, so "rolling back" would only pretend.
      throw new AlreadyFinalizedError(
        `${release.artifact.image} was already finalized and the previous version removed; release the previous version to go back`,
      );
    }
    if (!this.stable || this.stable.processes.every((p) => p.exit)) {
      // The stable version is gone (crashed, replaced by a rolling release, or this is a fresh start): bring it back first.
      const version = this.stable?.version ?? this.options.config.initialVersion;
      if (this.stable) await this.proxy.removeVersion(this.stable.label);
      this.stable = await this.launch(version);
    } else if (this.stable.processes.length < this.options.config.replicas) {
      // A rolling release replaced some of its replicas: start them again, ready before traffic returns.
      await this.grow(this.stable, this.options.config.replicas);
    }
    await this.proxy.setWeights({ [this.stable.label]: 100 });
    const candidate = this.candidate;
    if (candidate && candidate.version === release.artifact.image) {
      await this.proxy.setTestVersion(undefined);
      this.candidate = undefined;
      await this.retire(candidate);
    }
    return done();
  }

  async finalize(release: Release): Promise<Progress> {
    const candidate = this.candidate;
    if (!candidate) {
      if (this.stable?.version === release.artifact.image) return done(); // already finalized
      throw new Error(`${release.artifact.image} is not deployed for ${this.options.service}`);
    }
    this.candidateOf(release);
    await this.proxy.setWeights({ [candidate.label]: 100 });
    await this.proxy.setTestVersion(undefined);
    const old = this.stable;
    this.stable = candidate;
    this.candidate = undefined;
    if (old) await this.retire(old);
    return done();
  }

  async observe(release: Release, gates: readonly GateSpec[], now: number): Promise<Observation[]> {
    const candidate = this.candidate?.version === release.artifact.image ? this.candidate : undefined;
    return gates.map((gate): Observation => {
      if (gate.kind === 'alarm') {
        if (gate.name !== PROCESS_HEALTH_GATE) return { gate: gate.name, kind: 'error', message: 'CloudWatch alarms are not available in local mode' };
        return candidate?.crash ? { gate: gate.name, kind: 'alarm', state: 'ALARM', reason: candidate.crash } : { gate: gate.name, kind: 'alarm', state: 'OK' };
      }
      if (gate.kind === 'judge') {
        // Both versions' counts, period by period, since the step began: the same windows on both sides.
        const stable = this.stable;
        if (!candidate || !stable) return { gate: gate.name, kind: 'judge', bounds: JUDGE_LATENCY_BOUNDS, periods: [] };
        const from = Date.parse(release.stepStartedAt ?? release.updatedAt);
        // The stable version's last hour before the step: how much its errors vary from minute to minute.
        // Read once per step: the data plane keeps two hours, and a step longer than an hour would
        // otherwise see its history's oldest minutes pruned, and every look judged again on another one.
        const key = `${stable.label}|${from}`;
        if (this.history?.key !== key) {
          const minutes = Array.from({ length: HISTORY_MINUTES }, (_, k) =>
            this.proxy.metrics.counts(stable.label, from - (HISTORY_MINUTES - k) * 60_000, from - (HISTORY_MINUTES - 1 - k) * 60_000),
          ).filter((t) => t.requests > 0);
          this.history = { key, minutes };
        }
        const history = this.history.minutes;
        return {
          gate: gate.name,
          kind: 'judge',
          bounds: JUDGE_LATENCY_BOUNDS,
          history,
          periods: judgePeriods(this.proxy.metrics, candidate.label, stable.label, gate.periodSeconds, from, now),
        };
      }
      // Webhooks are called beside the data plane (composition/webhooks.ts), never read from it.
      if (gate.kind === 'webhook') return { gate: gate.name, kind: 'error', message: 'a webhook gate is not a metric of the data plane' };
      if (!isTargetMetric(gate.metric)) return { gate: gate.name, kind: 'error', message: 'CloudWatch metrics are not available in local mode' };
      if (!candidate) return { gate: gate.name, kind: 'metric', datapoints: [] };
      return {
        gate: gate.name,
        kind: 'metric',
        datapoints: this.proxy.metrics.datapoints(candidate.label, gate.metric, gate.statistic, gate.periodSeconds, gate.evaluationPeriods, now),
      };
    });
  }

  /** Stops everything: drains both versions, terminates every process, closes the proxy. */
  async close(): Promise<void> {
    this.closed = true;
    const generations = [this.candidate, this.stable].filter((g): g is Generation => g !== undefined);
    await Promise.all(generations.map((g) => this.retire(g)));
    await this.proxy.close();
  }
}

import type { Release } from '../core/release.js';
import { isTerminal } from '../core/phases.js';
import { percentile } from '../core/percentile.js';
import { LoadGenerator } from './load.js';
import type { LocalMode } from '../composition/local-mode.js';

export interface DemoSummary {
  readonly release: Release;
  readonly durationMs: number;
  readonly requests: number;
  readonly failed: number;
  readonly servedBy: ReadonlyMap<string, number>;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
}

/** Steady background traffic on a service's production route, so gates have data to judge. */
export function startLoad(mode: LocalMode, service: string, requestsPerSecond = 40): LoadGenerator {
  const target = mode.targets.get(service);
  if (!target) throw new Error(`no local service ${service}`);
  const load = new LoadGenerator({ url: `http://127.0.0.1:${target.proxy.productionPort}/`, requestsPerSecond, concurrency: 4 });
  load.start();
  return load;
}

/**
 * Releases `image` to `service` while `load` runs and waits for the release to end. Approvals are
 * given as the actor "demo", exactly as `POST /releases/{id}/approve` would.
 */
export async function runDemoRelease(
  mode: LocalMode,
  service: string,
  image: string,
  load: LoadGenerator,
  onApprove?: (id: string) => void,
): Promise<DemoSummary> {
  const before = { sent: load.stats.sent, failed: load.stats.failed, latencies: load.stats.latenciesMs.length, servedBy: new Map(load.stats.servedBy) };
  const started = Date.now();
  const { release } = await mode.runtime.releases.startRelease({ service, image, actor: { id: 'demo', channel: 'api' } });
  let current = release;
  while (!isTerminal(current.phase)) {
    await new Promise((r) => setTimeout(r, 200));
    current = (await mode.runtime.deps.store.get(release.id)) ?? current;
    if (current.phase === 'awaiting_approval' && current.pendingApproval) {
      onApprove?.(current.id);
      current = await mode.runtime.releases.act(current.id, 'approve', { id: 'demo', channel: 'api' }, 'approved by the demo');
    }
  }
  const latencies = load.stats.latenciesMs.slice(before.latencies).sort((a, b) => a - b);
  const servedBy = new Map<string, number>();
  for (const [version, n] of load.stats.servedBy) servedBy.set(version, n - (before.servedBy.get(version) ?? 0));
  return {
    release: current,
    durationMs: Date.now() - started,
    requests: load.stats.sent - before.sent,
    failed: load.stats.failed - before.failed,
    servedBy,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

import type { LogQuery, VersionLogs } from '../../src/ports/logs.js';
import { resolveConfig, type ConfiguredPerson, type ServiceConfig } from '../../src/config/config.js';
import { startLocalDynamo, type LocalDynamo } from '../../src/adapters/dynamodb/dynalite.js';
import { DynamoReleaseStore } from '../../src/adapters/dynamodb/dynamo-store.js';
import { systemClock, VirtualClock } from '../../src/ports/clock.js';
import { createLocalRuntime, type LocalRuntime } from '../../src/composition/local-runtime.js';
import type { Release } from '../../src/core/release.js';
import type { Store } from '../../src/ports/release-store.js';
import type { DefinitionOptions } from '../../src/workflow/definition.js';
import { MemoryDriver, ScriptedMetrics } from './memory-driver.js';
import { releaseFinished, releaseUntil } from './poll.js';
import type { MetricsSource } from '../../src/ports/metrics-source.js';

export const gate = {
  name: 'error-rate',
  metric: 'ErrorRate',
  statistic: 'Average',
  comparison: 'GreaterThanThreshold',
  threshold: 5,
  period: '1m',
  minSamples: 10,
} as const;

/** A local-driver service config with sensible test defaults; override any field. */
export function serviceConfig(name: string, overrides: Record<string, unknown> = {}, port = 9000) {
  return {
    name,
    target: { driver: 'local', command: 'true', port },
    strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '5m' },
    gates: { metrics: [gate], checkInterval: '30s' },
    ...overrides,
  };
}

export interface Harness extends LocalRuntime {
  readonly dynamo: LocalDynamo;
  readonly store: DynamoReleaseStore;
  readonly driver: MemoryDriver;
  readonly metrics: ScriptedMetrics;
  readonly clock: VirtualClock;
  readonly services: readonly ServiceConfig[];
  /** The config's people. */
  readonly people: readonly ConfiguredPerson[];
  /** Waits for the release's workflow to end and returns the stored release. */
  finish(id: string): Promise<Release>;
  /** Polls the store until `predicate` holds for the release. */
  until(id: string, predicate: (r: Release) => boolean, timeoutMs?: number): Promise<Release>;
  close(): Promise<void>;
}

export async function startHarness(
  services: Record<string, unknown>[],
  {
    dynamo,
    wrapStore,
    config: extra = {},
    definition,
    executionBudget,
    maxHistoryEvents,
    realTime = false,
    logs,
    logsLink,
    logsWaitMs,
    wrapMetrics,
  }: {
    dynamo?: LocalDynamo;
    wrapStore?: (store: DynamoReleaseStore, services: readonly ServiceConfig[]) => Store;
    config?: Record<string, unknown>;
    definition?: DefinitionOptions;
    executionBudget?: { decisions?: number; seconds?: number };
    /** History events one execution may hold (the local engine's limit; default Step Functions' 25,000). */
    maxHistoryEvents?: number;
    /** Run on the system clock: waits take their real time (for what must happen within seconds). */
    realTime?: boolean;
    /** The versions' logs the engine reads (error lines for approvals), and the link to their full view. */
    logs?: VersionLogs;
    logsLink?: (query: LogQuery) => Promise<string | undefined>;
    logsWaitMs?: number;
    /** What the engine reads gates through, around the scripted metrics (webhook gates, for example). */
    wrapMetrics?: (metrics: MetricsSource, service: ServiceConfig) => MetricsSource;
  } = {},
): Promise<Harness> {
  const db = dynamo ?? (await startLocalDynamo());
  const store = new DynamoReleaseStore(db.client, db.tableName);
  const config = resolveConfig({ ...extra, services });
  const driver = new MemoryDriver();
  const metrics = new ScriptedMetrics();
  const clock = new VirtualClock();
  const runtime = createLocalRuntime(
    {
      services: config.services,
      store: wrapStore ? wrapStore(store, config.services) : store,
      clock: realTime ? systemClock : clock,
      driverFor: () => driver,
      metricsFor: wrapMetrics ? (svc) => wrapMetrics(metrics, svc) : () => metrics,
      ...(executionBudget ? { executionBudget } : {}),
      ...(logs ? { logs } : {}),
      ...(logsLink ? { logsLink } : {}),
      ...(logsWaitMs !== undefined ? { logsWaitMs } : {}),
    },
    {
      ...(realTime ? {} : { virtualClock: clock }),
      retryIntervalMs: 1,
      ...(definition ? { definition } : {}),
      ...(maxHistoryEvents !== undefined ? { maxHistoryEvents } : {}),
    },
  );
  const until = (id: string, predicate: (r: Release) => boolean, timeoutMs = 10_000) => releaseUntil(store, id, predicate, { timeoutMs });
  return {
    ...runtime,
    dynamo: db,
    store,
    driver,
    metrics,
    clock,
    services: config.services,
    people: config.people,
    until,
    finish: (id) => releaseFinished(store, runtime.engine, id),
    async close() {
      await runtime.engine.stop();
      if (!dynamo) await db.close();
    },
  };
}

import type { ServiceConfig } from '../config/config.js';
import type { MetricsSource } from '../ports/metrics-source.js';
import type { ApprovalTokens, IdempotencyKeys, Releases, ReleaseQueue, ServiceLocks, StableVersions, Store } from '../ports/release-store.js';
import type { TrafficDriver } from '../ports/traffic-driver.js';
import type { Clock } from '../ports/clock.js';
import type { LogQuery, VersionLogs } from '../ports/logs.js';
import type { Log } from '../ports/log.js';
import type { Workflow } from '../ports/workflow.js';

/**
 * Everything the use cases and workflow handlers need, wired by an entry point. `S` is the store
 * ports a use case uses ({@link ReleaseServiceStore}, {@link WorkflowStore}); an entry point wires
 * one store that implements them all ({@link Store}, the default) and hands it to each.
 */
export interface EngineDeps<S = Store> {
  readonly services: readonly ServiceConfig[];
  readonly store: S;
  readonly workflow: Workflow;
  readonly clock: Clock;
  readonly driverFor: (service: ServiceConfig) => TrafficDriver;
  readonly metricsFor: (service: ServiceConfig) => MetricsSource;
  readonly log?: Log;
  /**
   * The versions' logs (local mode: the processes' files; AWS: CloudWatch Logs). When set, an approval
   * carries the new version's most recent error lines, for the person deciding. @default none
   */
  readonly logs?: VersionLogs;
  /** A link to the full view of those logs, given with the error lines. @default none */
  readonly logsLink?: (query: LogQuery) => Promise<string | undefined>;
  /** How long the error lines (and their link) may take before the person is asked without them. @default 10 s */
  readonly logsWaitMs?: number;
  /** When an execution hands over to the next (tests shorten it). @default EXECUTION_LIMITS */
  readonly executionBudget?: { readonly decisions?: number; readonly seconds?: number };
  /** New release ids; defaults to time-sortable random ids. */
  readonly newId?: () => string;
}

/**
 * The store ports the release use cases use (engine/releases.ts): releases, the service's lock and
 * queue, its stable version, approvals decided once, and idempotency keys.
 */
export type ReleaseServiceStore = Releases & ServiceLocks & ReleaseQueue & StableVersions & ApprovalTokens & IdempotencyKeys;

/**
 * The store ports the workflow's tasks use (engine/handlers.ts): releases, renewing the service's
 * lock, the stable version a finished release leaves, and the approvals' task tokens. They never
 * queue a release or claim an idempotency key (the release use cases do).
 */
export type WorkflowStore = Releases & ServiceLocks & StableVersions & ApprovalTokens;

/** How long a release holds its service's lock without a decision renewing it. */
export const LOCK_LEASE_SECONDS = 8 * 24 * 3600;

export function serviceNamed(deps: Pick<EngineDeps<unknown>, 'services'>, name: string): ServiceConfig | undefined {
  return deps.services.find((s) => s.name === name);
}

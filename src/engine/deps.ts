import type { ServiceConfig } from '../config/config.js';
import type { MetricsSource } from '../ports/metrics-source.js';
import type { ReleaseStore } from '../ports/release-store.js';
import type { TrafficDriver } from '../ports/traffic-driver.js';
import type { Clock, Workflow } from '../ports/workflow.js';

/** A minimal structured logger: Powertools' Logger satisfies it, and so does a test capture. */
export interface Log {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

export const silentLog: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Everything the use cases and workflow handlers need, wired by an entry point. */
export interface EngineDeps {
  readonly services: readonly ServiceConfig[];
  readonly store: ReleaseStore;
  readonly workflow: Workflow;
  readonly clock: Clock;
  readonly driverFor: (service: ServiceConfig) => TrafficDriver;
  readonly metricsFor: (service: ServiceConfig) => MetricsSource;
  readonly log?: Log;
  /** New release ids; defaults to time-sortable random ids. */
  readonly newId?: () => string;
}

/** How long a release holds its service's lock without a decision renewing it. */
export const LOCK_LEASE_SECONDS = 8 * 24 * 3600;

export function serviceNamed(deps: EngineDeps, name: string): ServiceConfig | undefined {
  return deps.services.find((s) => s.name === name);
}

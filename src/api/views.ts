import type * as z from 'zod';
import type { ServiceConfig } from '../config/config.js';
import type { Release } from '../core/release.js';
import type { ServiceHealth } from '../ports/traffic-driver.js';
import type { ServiceSchema } from './schemas.js';
import { offeredStarts, toReleaseSummary, toReleaseView, type ReleaseSummary, type ReleaseView, type Viewer, type ViewOptions } from '../contract/index.js';

/** What people see of a release in lists (the wire contract's summary). */
export const releaseSummary = (r: Release): ReleaseSummary => toReleaseSummary(r);

/**
 * One release in full, as `viewer` sees it at `now` (the wire contract's view: the decisions offered
 * to this caller, countdowns, series as numbers). @default made at the release's last change, for nobody
 */
export function releaseView(r: Release, options: ViewOptions = { now: Date.parse(r.updatedAt) }): ReleaseView {
  return toReleaseView(r, options);
}

/** A service as `viewer` sees it: its config, what runs, and what this caller may start on it. */
export function serviceView(s: ServiceConfig, viewer: Viewer, activeRelease?: string, health?: ServiceHealth): z.infer<typeof ServiceSchema> {
  return {
    name: s.name,
    driver: s.target.driver,
    strategy: s.plan.strategy,
    plan: s.plan.steps.map((step) => ({ ...step })),
    ...(s.trigger ? { trigger: s.trigger } : {}),
    gates: s.settings.gates.map((g) => g.name),
    approvers: [...s.settings.approvalRules.approvers],
    fourEyes: s.settings.approvalRules.fourEyes,
    onActiveRelease: s.onActiveRelease,
    ...(activeRelease ? { activeRelease } : {}),
    offer: offeredStarts(s.name, s.settings.approvalRules, viewer),
    ...(health ? { health: { ...health, replicas: { ...health.replicas } } } : {}),
  };
}

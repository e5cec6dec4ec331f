import type * as z from 'zod';
import type { ServiceConfig } from '../config/config.js';
import type { Release } from '../core/release.js';
import type { ServiceHealth } from '../ports/traffic-driver.js';
import type { ReleaseSummarySchema, ReleaseViewSchema, ServiceSchema } from './schemas.js';

/** What people see of a release in lists. */
export function releaseSummary(r: Release): z.infer<typeof ReleaseSummarySchema> {
  return {
    id: r.id,
    service: r.service,
    image: r.artifact.image,
    phase: r.phase,
    traffic: { candidate: r.weight, stable: 100 - r.weight },
    step: { index: Math.min(r.stepIndex + 1, r.plan.steps.length), total: r.plan.steps.length },
    createdAt: r.createdAt,
    createdBy: r.createdBy,
    ...(r.finishedAt ? { finishedAt: r.finishedAt } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.origin ? { origin: { ...r.origin } } : {}),
    ...(r.expedited ? { expedited: { ...r.expedited } } : {}),
    ...(r.previous ? { previous: r.previous } : {}),
  };
}

/** One release in full: plan, split, gates, approvals, timeline. Never a task token. */
export function releaseView(r: Release): z.infer<typeof ReleaseViewSchema> {
  return {
    ...releaseSummary(r),
    ...(r.artifact.digest ? { digest: r.artifact.digest } : {}),
    strategy: r.plan.strategy,
    plan: r.plan.steps.map((s) => ({ ...s })),
    gateResults: r.gateResults.map((g) => ({ ...g, evidence: { ...g.evidence } })),
    ...(r.changes ? { changes: r.changes.map((c) => ({ ...c })) } : {}),
    ...(r.gateHistory ? { gateHistory: Object.fromEntries(Object.entries(r.gateHistory).map(([k, v]) => [k, v.map((p) => ({ ...p }))])) } : {}),
    ...(r.recentErrors ? { recentErrors: r.recentErrors.map((e) => ({ ...e })) } : {}),
    ...(r.recentErrorsLink ? { recentErrorsLink: r.recentErrorsLink } : {}),
    ...(r.pendingApproval
      ? {
          pendingApproval: {
            id: r.pendingApproval.id,
            label: r.pendingApproval.label,
            requestedAt: r.pendingApproval.requestedAt,
            expiresAt: r.pendingApproval.expiresAt,
            onTimeout: r.pendingApproval.onTimeout,
          },
        }
      : {}),
    approvals: r.approvals.map((a) => ({ ...a })),
    timeline: r.timeline.map((e) => ({ ...e })),
    updatedAt: r.updatedAt,
  };
}

export function serviceView(s: ServiceConfig, activeRelease?: string, health?: ServiceHealth): z.infer<typeof ServiceSchema> {
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
    ...(health ? { health: { ...health, replicas: { ...health.replicas } } } : {}),
  };
}

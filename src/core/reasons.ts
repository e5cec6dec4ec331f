/**
 * Every sentence Switchyard says about a release (timeline, API errors, Slack, logs) comes from
 * here, so the wording stays the same wherever people read it.
 */
export const Reasons = {
  created: (image: string) => `release of ${image} created`,
  bakeEndedEarly: (evidence: string) => `bake ended early: the judge rules out a regression worth stopping for (${evidence})`,
  createdFor: (kind: 'undo' | 'retry', image: string, of: string) =>
    kind === 'undo'
      ? `undo of release ${of}: back to ${image} (readiness check, then all traffic at once, no bakes)`
      : `retry of release ${of}: ${image} again`,
  createdExpedited: (image: string, reason: string) => `expedited release of ${image} (bakes cut to one gate check, approvals skipped): ${reason}`,
  queued: (activeId: string) => `queued behind active release ${activeId}`,
  started: 'release started',
  supersededBy: (id: string) => `superseded by newer release ${id} before it started`,
  deploying: 'deploying the new version with 0% of production traffic',
  deployed: 'new version deployed and ready, 0% of production traffic',
  shifting: (from: number, to: number) => `shifting production traffic to the new version: ${from}% -> ${to}%`,
  shifted: (to: number) => `${to}% of production traffic on the new version`,
  bakeStarted: (seconds: number) => `baking for ${seconds}s while the gates are watched`,
  bakeExtended: (seconds: number) => `gates inconclusive: bake extended by ${seconds}s`,
  gateFailed: (summary: string) => `gate failed: ${summary}`,
  gateErrors: (summary: string) => `gate could not be evaluated: ${summary}`,
  inconclusiveFail: (summary: string) => `gates stayed inconclusive past the extension limit: ${summary}`,
  inconclusivePause: 'gates stayed inconclusive past the extension limit: a person must decide',
  approvalRequested: (label: string, seconds: number) => `approval requested (${label}), expires in ${seconds}s`,
  approved: (who: string) => `approved by ${who}`,
  rejected: (who: string) => `rejected by ${who}`,
  approvalExpired: (onTimeout: string) => `approval expired; timeout action: ${onTimeout}`,
  promoteRequested: (who: string) => `promote requested by ${who}: skipping the remaining steps`,
  rollbackRequested: (who: string) => `rollback requested by ${who}`,
  paused: (who: string, bakeLeft: number, until?: string) =>
    `paused by ${who}: held at this step with ${bakeLeft}s of the bake left; gates still watched (a failing gate still rolls back)${until ? `; the target holds at most until ${until}, then the release rolls back` : ''}`,
  resumed: (who: string, pausedSeconds: number) => `resumed by ${who} after ${pausedSeconds}s paused: the bake continues where it stopped`,
  holdLimitReached: (until: string, why: string) => `paused past the target's hold limit (${until}): ${why}; rolling back rather than let the target decide`,
  rollingBack: (why: string) => `rolling back: ${why}`,
  rollbackUnspecified: 'rollback',
  rolledBack: 'rolled back: 100% of production traffic on the stable version',
  cancelled: 'cancelled before any traffic moved',
  finalizing: 'finalizing: draining and removing the old version',
  succeeded: 'release succeeded: 100% on the new version, old version removed',
  failed: (why: string) => `release failed: ${why}`,
  deployFailed: (why: string) => `the new version could not be deployed: ${why}`,
  preflightFailed: (why: string) => `pre-flight checks failed, nothing was changed: ${why}`,
  unexpected: (state: string, why: string) => `unexpected error in ${state}: ${why}`,
  interrupted: 'interrupted: Switchyard stopped while this release was in progress',
  startFailed: (why: string) => `the release workflow could not be started: ${why}`,
  recoveryFailed: (why: string) => `the stable version could not be restored: ${why}`,
  waitingOnTarget: (seen: string) => `waiting for the target: ${seen}`,
  targetTimedOut: (step: string, seconds: number, seen: string) =>
    `the target did not finish the ${step} within ${seconds}s (last seen: ${seen}); set target.deadlines.${step} if this service needs longer`,
} as const;

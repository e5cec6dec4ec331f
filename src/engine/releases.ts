import { randomBytes } from 'node:crypto';
import { checkDecision, type HumanDecision } from '../core/approvals.js';
import { isTerminal, Phase } from '../core/phases.js';
import { Reasons } from '../core/reasons.js';
import { IdempotencyKeyReusedError, messageOf, ValidationError } from '../core/errors.js';
import { expeditePlan, firstApproval, undoPlan, type Plan } from '../core/plan.js';
import { mayTake, type Verb } from '../core/authority.js';
import { capabilitiesFor, validatePlan } from '../core/capabilities.js';
import type { Origin, Release } from '../core/release.js';
import {
  cancelQueued,
  markFailed,
  createRelease,
  endAfterFailure,
  recordApproval,
  requestPromote,
  requestRollback,
  start,
  supersede,
  type RestoreOutcome,
} from '../core/transitions.js';
import { takeWake } from '../core/wake.js';
import { pauseRelease, resumeRelease } from '../core/pause.js';
import { EventKind } from '../core/timeline.js';
import type { Actor } from '../core/actor.js';
import { namesImage, parseArtifact, sameImage } from '../core/artifact.js';
import { restoreStable } from './restore.js';
import type { ServiceConfig } from '../config/config.js';
import { LOCK_LEASE_SECONDS, serviceNamed, type EngineDeps, type ReleaseServiceStore } from './deps.js';
import { ConflictError, ActiveReleaseError, ForbiddenError, InvalidActionError, NotFoundError, UnknownServiceError } from '../core/errors.js';
import { silentLog } from '../ports/log.js';

/** Time-sortable, URL-safe release ids such as `r-mf3k2a1b-9c4d`. */
export function newReleaseId(now: number = Date.now()): string {
  return `r-${now.toString(36)}-${randomBytes(3).toString('hex')}`;
}

/**
 * The execution name of a release: one per release, never per image. Step Functions keeps a name
 * for 90 days after its execution closes and refuses it whatever the input (StartExecution,
 * ExecutionAlreadyExists), so a name made from the image would forbid releasing that image again.
 * Names are 1..80 of [A-Za-z0-9-_]; the release id is kept whole, the service name shortened.
 */
export function executionName(service: string, releaseId: string, generation = 1): string {
  const id = `${releaseId}${generation > 1 ? `-g${generation}` : ''}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80);
  const prefix = service.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, Math.max(0, 79 - id.length));
  return prefix ? `${prefix}-${id}` : id;
}

export interface StartInput {
  readonly service: string;
  readonly image: string;
  readonly actor: Actor;
  /** A hotfix: bakes cut to one gate check, approvals skipped; the reason goes in the timeline. */
  readonly expedite?: { readonly reason: string };
  /** Set by undo and retry. */
  readonly origin?: Origin;
  readonly comment?: string;
  /** Instead of the service's plan (undo). */
  readonly plan?: Plan;
  /** Duplicate requests with the same key start one release (ECR deliveries, client retries). */
  readonly idempotencyKey?: string;
  /** The rule's own key (retry and undo: a release is retried or undone once), whatever key the client sent. */
  readonly onceKey?: string;
  /** The new release's id, when the caller chose it (under a client's key). */
  readonly id?: string;
}

/** Where `undo` goes: by default the version served before the last succeeded release, in one quick step. */
export interface UndoOptions {
  /** A version the service served before: undo goes back to it, through the service's plan. */
  readonly to?: string;
  /** With `to`: expedited (bakes cut to one gate check, approvals skipped but one under four-eyes); needs a reason. */
  readonly expedite?: boolean;
}

export interface StartResult {
  readonly release: Release;
  /** False when the idempotency key named an existing release. */
  readonly created: boolean;
}

/**
 * The use cases behind the API, Slack and the ECR trigger: start releases (with the per-service
 * lock and queue) and apply people's decisions exactly once.
 */
export function createReleaseService(deps: EngineDeps<ReleaseServiceStore>) {
  const { store, workflow, clock } = deps;
  const log = deps.log ?? silentLog;
  const newId = deps.newId ?? (() => newReleaseId(clock.now()));

  function service(name: string): ServiceConfig {
    const svc = serviceNamed(deps, name);
    if (!svc) throw new UnknownServiceError(`unknown service "${name}"; configured services: ${deps.services.map((s) => s.name).join(', ')}`);
    return svc;
  }

  /**
   * A client's key, scoped to the caller and the request's kind: one caller's key never answers, or
   * blocks, another caller's request, nor the rule's own keys (`once:`).
   */
  function clientKey(actor: Actor, kind: string, key: string): string {
    return `client:${actor.person !== undefined ? `person ${actor.person}` : `${actor.channel} ${actor.id}`}:${kind}:${key}`;
  }

  /**
   * Claims `key` for the release `id`, or finds the release it names. A rule's key (`once`: a release
   * is retried or undone once) names one attempt that is alive or shipped: one that ended without
   * shipping gives the key up, so a new attempt can be made.
   */
  async function claimOrFind(key: string, id: string, now: number, once: boolean): Promise<Release | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const owner = await store.claimIdempotencyKey(key, id, now);
      if (owner === id) return undefined;
      const existing = await awaitCreated(owner);
      if (!once || !isTerminal(existing.phase) || existing.phase === Phase.succeeded) return existing;
      await store.forgetIdempotencyKey(key, owner);
    }
    throw new ConflictError('another request is starting the same release; retry in a moment');
  }

  /** Whether `actor`'s `decision` shows in the release (the first request with a key has been applied), in an event from `since` on. */
  function applied(release: Release, decision: HumanDecision, actor: Actor, since: number): boolean {
    const mine = (a: Actor | undefined) => a !== undefined && a.id === actor.id && a.channel === actor.channel;
    switch (decision) {
      case 'approve':
      case 'reject':
        return release.approvals.some((a) => a.decision === (decision === 'approve' ? 'approved' : 'rejected') && mine(a.actor));
      case 'promote':
        return mine(release.requests.promote?.actor);
      case 'rollback':
        return (
          mine(release.requests.rollback?.actor) || (release.phase === Phase.cancelled && release.timeline.some((e) => e.type === 'cancelled' && mine(e.actor)))
        );
      case 'pause':
      case 'resume': {
        const kind = decision === 'pause' ? EventKind.paused : EventKind.resumed;
        return release.timeline.slice(since).some((e) => e.type === kind && mine(e.actor));
      }
    }
  }

  /** Refuses a decision the actor may not take on the service (core/authority.ts: one rule for every channel). */
  function authorize(svc: ServiceConfig, verb: Verb, actor: Actor): void {
    const check = mayTake(svc.settings.approvalRules, verb, actor);
    if (!check.ok) throw new ForbiddenError(`${check.message} (service ${svc.name})`);
  }

  /**
   * Claims an idempotency key for a decision on a release: `claim` when this call is the first with
   * it, none when it is a replay of the same decision (whose result the caller returns); `since`: the
   * timeline's length when the first request claimed it.
   * @throws {IdempotencyKeyReusedError} when the key was first used for another decision.
   */
  async function claimDecision(key: string, id: string, decision: string, mark: number): Promise<{ claim?: string; since: number }> {
    const what = `${decision} ${id}`;
    const mine = `${what} ${randomBytes(6).toString('hex')} @${mark}`;
    const first = await store.claimIdempotencyKey(key, mine, clock.now());
    if (first === mine) return { claim: mine, since: mark };
    if (first.startsWith(`${what} `)) return { since: Number(/ @(\d+)$/.exec(first)?.[1] ?? 0) };
    throw new IdempotencyKeyReusedError(
      `header.Idempotency-Key: was first used to ${first.split(' ').slice(0, 2).join(' release ')}; use a new key for another decision`,
    );
  }

  async function get(id: string): Promise<Release> {
    const release = await store.get(id);
    if (!release) throw new NotFoundError(`no release with id "${id}"`);
    return release;
  }

  /** The release another caller is creating under the same idempotency key (it may take a moment to appear). */
  async function awaitCreated(id: string): Promise<Release> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const existing = await store.get(id);
      if (existing) return existing;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new ConflictError(`release ${id} for this idempotency key is still being created; retry in a moment`);
  }

  /**
   * Starts the release's workflow. A start that cannot create its execution must not leave a
   * release that looks alive and holds the service: it fails with the reason, frees the lock and
   * lets the next queued release start; the error goes back to the caller.
   */
  async function launch(release: Release): Promise<void> {
    try {
      await workflow.start(release.id, executionName(release.service, release.id));
    } catch (error) {
      const reason = Reasons.startFailed(messageOf(error));
      const { release: failed } = await store.update(release.id, (r) => ({ release: markFailed(r, reason, clock.now()), result: undefined }));
      log.error('release could not start its workflow', { releaseId: release.id, service: release.service, reason });
      await afterTerminal(failed);
      throw error;
    }
  }

  /** Starts the service's waiting release if the lock is free. Safe to call any time, from anywhere. */
  async function drainQueue(serviceName: string): Promise<void> {
    for (;;) {
      const queued = await store.peekQueue(serviceName);
      if (!queued) return;
      if (!(await store.acquireLock(serviceName, queued, clock.now(), LOCK_LEASE_SECONDS))) return;
      if (!(await store.dequeue(serviceName, queued))) {
        // Superseded between peek and dequeue: give the lock back and look again.
        await store.releaseLock(serviceName, queued);
        continue;
      }
      const previous = await currentImage(serviceNamed(deps, serviceName));
      const { release } = await store.update(queued, (r) => ({ release: r.phase === Phase.queued ? start(r, clock.now(), previous) : r, result: undefined }));
      if (release.phase !== Phase.preparing) {
        await store.releaseLock(serviceName, queued);
        continue;
      }
      log.info('starting queued release', { releaseId: queued, service: serviceName });
      await launch(release);
      return;
    }
  }

  /** Frees the service once a release has ended and starts the next one waiting. Idempotent. */
  async function afterTerminal(release: Release): Promise<void> {
    if (!isTerminal(release.phase)) return;
    await store.releaseLock(release.service, release.id);
    await drainQueue(release.service);
  }

  /** What the service serves while no release holds it: the last release that succeeded, else the local target's first version. */
  async function currentImage(svc: ServiceConfig | undefined): Promise<string | undefined> {
    if (!svc) return undefined;
    return (await store.getStable(svc.name)) ?? (svc.target.driver === 'local' ? svc.target.initialVersion : undefined);
  }

  /**
   * The plan a release runs: the service's, an undo's, or the service's expedited (checked against
   * the driver's capabilities). The capabilities come from the pure `capabilitiesFor(driver, strategy)`,
   * never from a driver instance: the API function on AWS has no drivers (they run only in the
   * workflow function), so asking it for one failed every expedited release there (issue 22, defect 7).
   */
  function planFor(svc: ServiceConfig, input: StartInput): Plan {
    if (input.plan) return input.plan;
    if (!input.expedite) return svc.plan;
    if (input.expedite.reason.trim() === '') throw new ValidationError('body.reason: an expedited release needs a reason (it goes in the timeline)');
    const capabilities = capabilitiesFor(svc.target.driver, svc.plan.strategy);
    const plan = expeditePlan(
      svc.plan,
      svc.settings.gatePolicy.checkIntervalSeconds,
      capabilities.durationGranularitySeconds,
      svc.settings.approvalRules.fourEyes,
    );
    const issues = validatePlan(plan, capabilities);
    if (issues.length > 0)
      throw new ValidationError(
        `body.expedite: the ${svc.target.driver} driver cannot run ${svc.name}'s plan expedited: ${issues.map((i) => i.message).join('; ')}`,
      );
    return plan;
  }

  async function startRelease(input: StartInput): Promise<StartResult> {
    const svc = service(input.service);
    authorize(svc, 'start', input.actor);
    if (input.expedite) authorize(svc, 'expedite', input.actor);
    const now = clock.now();
    const id = input.id ?? newId();
    // Checked before any key is claimed: a refused request leaves no key behind.
    const plan = planFor(svc, input);
    // Key families never meet: a client's key is scoped to the caller, the rule's own keys have theirs.
    const keys = [
      ...(input.idempotencyKey !== undefined ? [clientKey(input.actor, 'start', input.idempotencyKey)] : []),
      ...(input.onceKey !== undefined ? [input.onceKey] : []),
    ];
    const claimed: string[] = [];
    const forget = () => Promise.all(claimed.map((k) => store.forgetIdempotencyKey(k, id)));
    for (const key of keys) {
      const existing = await claimOrFind(key, id, now, key === input.onceKey);
      if (existing === undefined) {
        claimed.push(key);
        continue;
      }
      await forget();
      const differs = existing.service !== svc.name || existing.artifact.image !== input.image || Boolean(existing.expedited) !== Boolean(input.expedite);
      // The rule's own key (an undo of this release) names a release another request started: one undo at a time.
      if (key === input.onceKey && (differs || JSON.stringify(existing.plan.steps) !== JSON.stringify(plan.steps)))
        throw new ActiveReleaseError(
          `service ${svc.name} has an active release ${existing.id} (${describeUndo(existing)}) started by another request: roll it back (switchyard rollback ${existing.id}) instead, then try again`,
        );
      // The same key for another release is a client bug: refuse it rather than answer with the first release.
      if (differs) {
        throw new IdempotencyKeyReusedError(
          `header.Idempotency-Key: was first used to release ${existing.artifact.image} to ${existing.service}${existing.expedited ? ' expedited' : ''} (release ${existing.id}); use a new key for another release`,
        );
      }
      return { release: existing, created: false };
    }
    const base = {
      id,
      service: svc.name,
      artifact: parseArtifact(input.image),
      plan,
      settings: svc.settings,
      actor: input.actor,
      ...(input.origin ? { origin: input.origin } : {}),
      ...(input.expedite ? { expedited: input.expedite } : {}),
      ...(input.comment ? { comment: input.comment } : {}),
    };
    if (await store.acquireLock(svc.name, id, now, LOCK_LEASE_SECONDS)) {
      const previous = await currentImage(svc);
      const release = createRelease({ ...base, ...(previous ? { previous } : {}) }, now);
      await store.create(release);
      log.info('release created', { releaseId: id, service: svc.name, image: input.image });
      try {
        await launch(release);
      } catch (error) {
        // A retry of the same request may try again: the keys must not point at the failed release.
        await forget();
        throw error;
      }
      return { release, created: true };
    }
    const active = (await store.lockOwner(svc.name, now)) ?? 'unknown';
    if (svc.onActiveRelease === 'reject') {
      await forget();
      throw new ActiveReleaseError(
        `service ${svc.name} already has active release ${active}, and its onActiveRelease policy is "reject": wait for it to finish or roll it back, then try again`,
      );
    }
    const release = createRelease({ ...base, queuedBehind: active }, now);
    await store.create(release);
    const replaced = await store.enqueue(svc.name, id);
    if (replaced) {
      await store.update(replaced, (r) => ({ release: r.phase === Phase.queued ? supersede(r, id, clock.now()) : r, result: undefined }));
      log.info('queued release superseded', { releaseId: replaced, service: svc.name, by: id });
    }
    // The active release may have ended between our lock attempt and the enqueue.
    await drainQueue(svc.name);
    return { release: (await store.get(id)) ?? release, created: true };
  }

  /**
   * Runs a request that starts a release under the client's idempotency key: a replay returns the
   * release the first request started, whatever has happened since (an undo that already
   * succeeded is not undone in turn by its own replay).
   */
  async function underKey(
    key: string | undefined,
    create: (id: string) => Promise<StartResult>,
    reused: (first: Release) => string | undefined = () => undefined,
  ): Promise<StartResult> {
    const id = newId();
    if (key === undefined) return create(id);
    const owner = await store.claimIdempotencyKey(key, id, clock.now());
    if (owner !== id) {
      const first = await awaitCreated(owner);
      const why = reused(first);
      if (why !== undefined)
        throw new IdempotencyKeyReusedError(`header.Idempotency-Key: was first used to ${why} (release ${first.id}); use a new key for another request`);
      return { release: first, created: false };
    }
    try {
      const result = await create(id);
      if (result.release.id !== id) {
        // Answered with an existing release (another caller's undo, the rule's own key): the client's key
        // names that release from now on, so its replay answers the same, never a new release.
        await store.forgetIdempotencyKey(key, id);
        await store.claimIdempotencyKey(key, result.release.id, clock.now());
      }
      return result;
    } catch (error) {
      await store.forgetIdempotencyKey(key, id);
      throw error;
    }
  }

  /** Completes a pending approval's callback so the workflow moves on at once. */
  async function wake(release: Release, status: 'approved' | 'rejected' | 'cancelled', actor: Actor): Promise<void> {
    const pending = release.pendingApproval;
    if (!pending) return;
    const item = await store.decideApproval(pending.id, release.id, status, actor.id);
    const token = item?.taskToken;
    if (token) await workflow.sendTaskSuccess(token, { decision: status });
  }

  /**
   * Applies a person's decision: approve, reject, promote or roll back. Checked against the
   * approval rules on the freshest state, recorded with the actor, applied at most once.
   * @throws {ForbiddenError} when the actor may not decide; {@link InvalidActionError} when the phase does not allow it.
   */
  async function act(id: string, decision: HumanDecision, actor: Actor, comment?: string, idempotencyKey?: string, approvalId?: string): Promise<Release> {
    if (idempotencyKey === undefined) return decideOnce(id, decision, actor, comment, approvalId);
    // A replay (a client's retry, Slack delivering the same click again) returns the release, decided once.
    const key = clientKey(actor, 'decision', idempotencyKey);
    // Where the timeline stood when the key was claimed: only an event after it is this request's (a
    // pause and resume may come and go several times, each an event of the same kind by the same person).
    const mark = (await get(id)).timeline.length;
    const { claim, since } = await claimDecision(key, id, decision, mark);
    if (claim === undefined) {
      const release = await get(id);
      if (applied(release, decision, actor, since)) return release;
      throw new ConflictError(`the first request with this Idempotency-Key is still being applied; retry in a moment`);
    }
    try {
      return await decideOnce(id, decision, actor, comment, approvalId);
    } catch (error) {
      // Refused or failed: nothing was decided, so a retry with the key may try again.
      await store.forgetIdempotencyKey(key, claim);
      throw error;
    }
  }

  /** `approvalId`: the approval a button was for; a button from an older approval must not decide a newer one. */
  async function decideOnce(id: string, decision: HumanDecision, actor: Actor, comment?: string, approvalId?: string): Promise<Release> {
    const before = await get(id);
    if ((decision === 'approve' || decision === 'reject') && approvalId !== undefined && before.pendingApproval?.id !== approvalId)
      throw new InvalidActionError(`that approval of release ${id} is no longer waiting; it was already decided or has expired`);
    const refuse = (r: Release) => {
      const check = checkDecision(r, decision, actor, clock.now());
      if (!check.ok) throw check.code === 'forbidden' ? new ForbiddenError(check.message) : new InvalidActionError(check.message);
    };
    refuse(before);
    if (decision === 'approve' || decision === 'reject') {
      const pending = before.pendingApproval;
      if (!pending) throw new InvalidActionError(`release ${id} has no approval waiting`);
      const status = decision === 'approve' ? 'approved' : 'rejected';
      // The approval item is the exactly-once guard: a double click or a retry finds it decided.
      const item = await store.decideApproval(pending.id, id, status, actor.id);
      if (!item) throw new InvalidActionError(`the approval ${pending.id} of release ${id} was already decided`);
      const { release } = await store.update(id, (r) => ({
        release: recordApproval(r, pending.id, status, clock.now(), actor, comment),
        result: undefined,
      }));
      if (item.taskToken) await workflow.sendTaskSuccess(item.taskToken, { decision: status });
      log.info(`release ${status}`, { releaseId: id, service: release.service, actor: actor.id });
      return release;
    }
    if (decision === 'rollback' && before.phase === Phase.queued) {
      const { release } = await store.update(id, (r) => {
        refuse(r);
        return { release: r.phase === Phase.queued ? cancelQueued(r, actor, clock.now(), comment) : r, result: undefined };
      });
      await store.dequeue(release.service, id);
      return release;
    }
    if (decision === 'pause') {
      // Nothing to wake: the workflow's next decision finds the release paused and holds it there.
      const { release } = await store.update(id, (r) => {
        refuse(r);
        return { release: pauseRelease(r, actor, clock.now(), comment), result: undefined };
      });
      log.info('release paused', { releaseId: id, service: release.service, actor: actor.id });
      return release;
    }
    let token: string | undefined;
    const { release } = await store.update(id, (r) => {
      refuse(r);
      const requested = STEERS[decision](r, actor, clock.now(), comment);
      const taken = takeWake(requested);
      token = taken.token;
      return { release: taken.release, result: undefined };
    });
    // The workflow acts now, not at its next gate check: end the wait it is in (or the approval it holds).
    if (token) await workflow.sendTaskSuccess(token, { woken: true });
    await wake(release, 'cancelled', actor);
    log.info(`${decision} requested`, { releaseId: id, service: release.service, actor: actor.id });
    return release;
  }

  /** The steers that wake the workflow so it acts at once: promote and rollback (requests), resume (the bake goes on). */
  const STEERS: Record<'promote' | 'rollback' | 'resume', (r: Release, actor: Actor, now: number, comment?: string) => Release> = {
    promote: requestPromote,
    rollback: requestRollback,
    resume: resumeRelease,
  };

  /**
   * Starts a new release of the image of a release that ended without shipping (rolled back,
   * failed, cancelled, superseded): the same service, image and plan, recorded as a retry of it.
   * A release is retried once: a second retry (two people at once, Slack delivering a click again)
   * returns the first one's release, with `created` false.
   * @throws {InvalidActionError} when the release is still running or succeeded.
   */
  async function retry(id: string, actor: Actor, comment?: string, idempotencyKey?: string): Promise<StartResult> {
    const key = idempotencyKey === undefined ? undefined : clientKey(actor, `retry ${id}`, idempotencyKey);
    return underKey(key, (newIdFor) => retryAs(newIdFor, id, actor, comment));
  }

  async function retryAs(newIdFor: string, id: string, actor: Actor, comment?: string): Promise<StartResult> {
    const original = await get(id);
    authorize(service(original.service), 'retry', actor);
    if (!isTerminal(original.phase) || original.phase === Phase.succeeded) {
      throw new InvalidActionError(
        `release ${id} is ${original.phase}: retry starts again a release that ended without shipping (rolled back, failed, cancelled or superseded)${original.phase === Phase.succeeded ? '; to go back from it, use undo' : ''}`,
      );
    }
    return startRelease({
      service: original.service,
      image: original.artifact.image,
      actor,
      origin: { kind: 'retry', of: id },
      onceKey: `once:retry-of:${id}`,
      id: newIdFor,
      ...(comment ? { comment } : {}),
    });
  }

  /**
   * After a release succeeded: returns the service to the version it served before, quickly (the
   * readiness check, then all traffic at once, no bakes), as a release of its own; under four-eyes
   * the plan's first approval is kept. An undo of an undo ships again the version the undo took
   * out, so it goes through the service's plan. With `of`, only when that release is still the
   * service's last succeeded one. A succeeded release is undone once: a second undo (two people at
   * once, a click delivered again) returns the first one's release, with `created` false.
   * @throws {ActiveReleaseError} while a release is active (roll that one back instead);
   *   {@link InvalidActionError} when no succeeded release says what came before it.
   */
  async function undo(
    serviceName: string,
    actor: Actor,
    comment?: string,
    of?: string,
    idempotencyKey?: string,
    options: UndoOptions = {},
  ): Promise<StartResult> {
    // Every undo --to of the service shares one key family: the same key with another version is a reuse (422).
    const kind = `undo ${serviceName}${options.to !== undefined ? ' to' : ''}`;
    const key = idempotencyKey === undefined ? undefined : clientKey(actor, kind, idempotencyKey);
    const to = options.to;
    const reused = (first: Release) =>
      to !== undefined && (!namesImage(first.artifact, parseArtifact(to)) || Boolean(first.expedited) !== (options.expedite === true))
        ? describeUndo(first)
        : undefined;
    return underKey(key, (newIdFor) => undoAs(newIdFor, serviceName, actor, comment, of, options), reused);
  }

  /** What an undo release does, as a person asked it: where it goes, expedited or not. */
  function describeUndo(release: Release): string {
    return `${release.origin?.kind === 'undo' ? 'undo' : 'release'} to ${release.artifact.image}${release.expedited ? ' expedited' : ''}`;
  }

  /**
   * Whether the running undo `existing` is what this undo request asks for (its replay, or the same
   * request from another person): the same version, plan and expedite flag. Anything else is another
   * request, refused while that one runs.
   */
  function asksFor(existing: Release, svc: ServiceConfig, last: Release, comment: string | undefined, options: UndoOptions): boolean {
    const expedite = options.expedite === true;
    if (Boolean(existing.expedited) !== expedite) return false;
    const image = options.to !== undefined ? parseArtifact(options.to) : last.previous !== undefined ? parseArtifact(last.previous) : undefined;
    if (image === undefined || !namesImage(existing.artifact, image)) return false;
    const plan =
      options.to === undefined
        ? undoPlanOf(svc, last)
        : planFor(svc, {
            service: svc.name,
            image: existing.artifact.image,
            actor: existing.createdBy,
            ...(expedite ? { expedite: { reason: comment ?? '-' } } : {}),
          });
    return JSON.stringify(existing.plan.steps) === JSON.stringify(plan.steps);
  }

  /** The plan of a plain undo of `last`: the quick one, or the service's for an undo of an undo. */
  function undoPlanOf(svc: ServiceConfig, last: Release): Plan {
    return last.origin?.kind === 'undo' ? svc.plan : checkedUndoPlan(svc);
  }

  async function undoAs(newIdFor: string, serviceName: string, actor: Actor, comment?: string, of?: string, options: UndoOptions = {}): Promise<StartResult> {
    const svc = service(serviceName);
    authorize(svc, 'undo', actor);
    if (options.expedite) authorize(svc, 'expedite', actor);
    const active = await store.lockOwner(svc.name, clock.now());
    const last = await lastSucceeded(svc.name);
    if (options.expedite && (comment ?? '').trim() === '')
      throw new ValidationError('body.comment: an expedited undo needs a reason (it goes in the timeline)');
    if (last && active) {
      // The undo of this release may be what holds the service: the same request answers with it; another is refused below.
      const existing = await store.get(active);
      if (
        existing?.origin?.kind === 'undo' &&
        existing.origin.of === last.id &&
        (of === undefined || of === last.id) &&
        asksFor(existing, svc, last, comment, options)
      )
        return { release: existing, created: false };
    }
    if (active) throw new ActiveReleaseError(`service ${svc.name} has active release ${active}: roll it back (switchyard rollback ${active}) instead of undo`);
    if (!last) throw new InvalidActionError(`nothing to undo: service ${svc.name} has no succeeded release`);
    if (options.to !== undefined) return undoTo(newIdFor, svc, options.to, actor, comment, last, options.expedite === true);
    // An undo asked from an older release's message must not undo a newer release instead.
    if (of !== undefined && last.id !== of)
      throw new InvalidActionError(`release ${of} is no longer what ${svc.name} serves (release ${last.id} succeeded since); undo that one instead`);
    const previous = last.previous;
    if (!previous)
      throw new InvalidActionError(
        `release ${last.id} does not record what ${svc.name} served before it, so undo cannot tell where to go back to; release that image instead`,
      );
    return startRelease({
      service: svc.name,
      image: previous,
      actor,
      origin: { kind: 'undo', of: last.id },
      plan: undoPlanOf(svc, last),
      onceKey: `once:undo-of:${last.id}`,
      id: newIdFor,
      ...(comment ? { comment } : {}),
    });
  }

  /**
   * Undo to a version the service served before (`undo --to`): an image of one of its succeeded releases,
   * or what it served before one. Through the service's plan (a version that old earns its bakes
   * again), or expedited under the authority rules (bakes cut to one gate check; under four-eyes the
   * plan's first approval stays).
   * @throws {InvalidActionError} for a version it never served (with those it did) or the one it serves now.
   */
  async function undoTo(
    newIdFor: string,
    svc: ServiceConfig,
    to: string,
    actor: Actor,
    comment: string | undefined,
    last: Release,
    expedite: boolean,
  ): Promise<StartResult> {
    const wanted = parseArtifact(to);
    const earlier = (await servedVersions(svc.name)).filter((image) => !sameImage(parseArtifact(image), last.artifact));
    const choices = earlier.length > 0 ? earlier.join(', ') : 'none recorded';
    if (namesImage(last.artifact, wanted))
      throw new InvalidActionError(`body.to: ${svc.name} serves ${last.artifact.image} now (release ${last.id}); name a version it served before: ${choices}`);
    // Newest first: a tag served pinned to several digests names the latest of them.
    const match = earlier.find((image) => sameImage(parseArtifact(image), wanted)) ?? earlier.find((image) => namesImage(parseArtifact(image), wanted));
    if (match === undefined) throw new InvalidActionError(`body.to: ${svc.name} never served ${to}; undo goes back to a version it served before: ${choices}`);
    return startRelease({
      service: svc.name,
      image: match,
      actor,
      origin: { kind: 'undo', of: last.id },
      // The same key as a plain undo's: one undo of a release at a time, whichever version it goes to.
      onceKey: `once:undo-of:${last.id}`,
      id: newIdFor,
      ...(expedite ? { expedite: { reason: comment ?? '' } } : {}),
      ...(comment ? { comment } : {}),
    });
  }

  /**
   * The versions the service served, newest first: each succeeded release's image, and what it served
   * before its first one. Walks its whole history a page at a time.
   */
  async function servedVersions(serviceName: string): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ service: serviceName, limit: 100, ...(cursor ? { cursor } : {}) });
      for (const r of page.releases.filter((x) => x.phase === Phase.succeeded)) out.push(r.artifact.image, ...(r.previous ? [r.previous] : []));
      cursor = page.cursor;
    } while (cursor);
    return [...new Set(out)];
  }

  /** The quick plan of an undo, with the plan's first approval under four-eyes, checked against the driver. */
  function checkedUndoPlan(svc: ServiceConfig): Plan {
    const kept = svc.settings.approvalRules.fourEyes ? firstApproval(svc.plan) : undefined;
    const plan = undoPlan(kept);
    const issues = kept ? validatePlan(plan, capabilitiesFor(svc.target.driver, svc.plan.strategy)) : [];
    if (issues.length > 0)
      throw new ValidationError(`the ${svc.target.driver} driver cannot run ${svc.name}'s undo: ${issues.map((i) => i.message).join('; ')}`);
    return plan;
  }

  /** The service's newest succeeded release (the stable one), walking its history a page at a time. */
  async function lastSucceeded(serviceName: string): Promise<Release | undefined> {
    let cursor: string | undefined;
    do {
      const page = await store.list({ service: serviceName, limit: 100, ...(cursor ? { cursor } : {}) });
      const found = page.releases.find((r) => r.phase === Phase.succeeded);
      if (found) return found;
      cursor = page.cursor;
    } while (cursor);
    return undefined;
  }

  /**
   * After a restart (local mode): releases left mid-flight are marked interrupted, their target
   * restored to the stable version, their lock freed; queued releases then start.
   */
  async function recoverInterrupted(): Promise<Release[]> {
    const recovered: Release[] = [];
    const unfinished = await store.listUnfinished();
    for (const stale of unfinished.filter((r) => r.phase !== Phase.queued)) {
      const svc = serviceNamed(deps, stale.service);
      const restored: RestoreOutcome = svc ? await restoreStable(deps.driverFor(svc), stale) : { kind: 'restored' };
      // Local drivers answer at once; a target still on its way back is not restored yet.
      const outcome = restored.kind === 'pending' ? { kind: 'unrestored' as const, why: restored.seen } : restored;
      if (outcome.kind === 'unrestored')
        log.error('could not restore the stable version of an interrupted release', { releaseId: stale.id, error: outcome.why });
      const { release } = await store.update(stale.id, (r) => ({
        release: endAfterFailure(r, Reasons.interrupted, outcome, clock.now(), Phase.cancelled),
        result: undefined,
      }));
      if (release.phase === Phase.succeeded) await store.setStable(release.service, release.artifact.image);
      await store.releaseLock(release.service, release.id);
      recovered.push(release);
    }
    for (const name of new Set(unfinished.map((r) => r.service))) await drainQueue(name);
    return recovered;
  }

  /** The service's active release and the one queued behind it, if any. */
  async function inFlight(serviceName: string): Promise<Release[]> {
    const ids = [await store.lockOwner(serviceName, clock.now()), await store.peekQueue(serviceName)].filter((x): x is string => x !== undefined);
    const found = await Promise.all(ids.map((id) => store.get(id)));
    return found.filter((r): r is Release => r !== undefined && !isTerminal(r.phase));
  }

  /** The image the service serves when no release is active (the last one that succeeded). */
  async function stableImage(serviceName: string): Promise<string | undefined> {
    return store.getStable(serviceName);
  }

  return { get, startRelease, act, retry, undo, afterTerminal, drainQueue, recoverInterrupted, service, inFlight, stableImage };
}

export type ReleaseService = ReturnType<typeof createReleaseService>;

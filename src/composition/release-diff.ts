import { readFile, stat } from 'node:fs/promises';
import { nextRevision, registerable } from '../adapters/aws/task-definition.js';
import type { ServiceConfig, SwitchyardConfig } from '../config/config.js';
import { IMAGE_PLACEHOLDER } from '../config/config.js';
import { parseArtifact, pinnedImage } from '../core/artifact.js';
import { authorityOf, guarded, VERBS, type Verb } from '../core/authority.js';
import { formatDuration } from '../core/duration.js';
import { messageOf, ValidationError } from '../core/errors.js';
import { PROCESS_HEALTH_GATE, type GateSpec } from '../core/gates.js';
import type { Step } from '../core/plan.js';
import { diffTaskDefinitions, formatChange, MAX_CHANGES, type Change } from '../core/task-diff.js';
import { stepLabel } from '../contract/steps.js';
import { IMAGE_PATTERN } from '../api/schemas.js';
import { readEcsService, type ImportClients } from './ecs-import.js';

/**
 * `switchyard diff <service> <image | task-definition.json>`: what a release would change, reading
 * only. The running task definition is read with the same code as `switchyard init --from-ecs`
 * (DescribeServices, DescribeTaskDefinition); nothing is registered, updated or started.
 */

/** What the release is of: an image, or a whole task definition (a JSON file). */
export type DiffSubject = { readonly image: string } | { readonly file: string; readonly taskDefinition: Record<string, unknown> };

/**
 * What `switchyard diff` was given: a task definition file (`*.json` in any case, or any file that
 * exists: RegisterTaskDefinition's input or DescribeTaskDefinition's output), else an image reference,
 * checked as a release checks it.
 * @throws {ValidationError} a file that cannot be read as a task definition, or neither an image nor a file
 */
export async function diffSubject(what: string): Promise<DiffSubject> {
  const exists = await stat(what).then(
    (s) => s.isFile(),
    () => false,
  );
  // A path as people write one (./x, ../x, /x, C:\x) is a file, though "./defs/x" also reads as an image on registry host ".".
  const json = /\.json$/i.test(what) || /^(?:\.{1,2}[/\\]|\/|[A-Za-z]:\\)/.test(what);
  if (!json && !exists) {
    if (IMAGE_PATTERN.test(what) && what.length <= 512) return { image: what };
    throw new ValidationError(
      `"${what}" is neither an image reference (repository[:tag][@sha256:<64 hex>], lowercase repository, optional registry host, as \`switchyard release\` takes) nor a file that exists; pass the image to release or the path of a task definition JSON file`,
    );
  }
  if (json && !exists) throw new ValidationError(`${what}: no such file; pass the path of a task definition JSON file, or an image`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(what, 'utf8'));
  } catch (error) {
    throw new ValidationError(`${what}: could not read a task definition from it (${messageOf(error)}); pass a task definition JSON file, or an image`);
  }
  const inner = (parsed as { taskDefinition?: unknown } | null)?.taskDefinition ?? parsed;
  if (typeof inner !== 'object' || inner === null || !Array.isArray((inner as { containerDefinitions?: unknown }).containerDefinitions))
    throw new ValidationError(`${what}: not a task definition (it has no containerDefinitions list)`);
  return { file: what, taskDefinition: inner as Record<string, unknown> };
}

export type VersionChange =
  | {
      readonly kind: 'task-definition';
      /** The revision the service runs now. */
      readonly running: string;
      readonly changes: readonly Change[];
      /** True when there were more changes than {@link MAX_CHANGES}. */
      readonly truncated: boolean;
      /** A deployment of the service in progress now, and the revisions that still run beside it. */
      readonly inProgress?: {
        readonly revision: string;
        readonly rolloutState: string;
        readonly runningCount: number;
        readonly others: readonly { readonly revision: string; readonly status: string; readonly runningCount: number }[];
      };
      /** The image released is the running one by tag: ECS resolves the tag to a digest again. */
      readonly sameTag?: string;
      /** Why the running revision's tags were not compared (they could not be read). */
      readonly tagsUnread?: string;
    }
  | {
      readonly kind: 'local';
      /** The command every version runs; VERSION in its environment is what changes. */
      readonly command: string;
      readonly from: string;
      readonly to: string;
    };

export interface ReleaseDiff {
  readonly service: string;
  readonly driver: string;
  readonly change: VersionChange;
  readonly plan: { readonly strategy: string; readonly steps: readonly Step[]; readonly labels: readonly string[] };
  readonly gates: readonly { readonly name: string; readonly kind: GateSpec['kind']; readonly text: string }[];
  readonly approvals: {
    readonly points: readonly { readonly label: string; readonly timeoutSeconds: number; readonly onTimeout: string }[];
    readonly approvers: readonly string[];
    readonly fourEyes: boolean;
    /** Who may take each decision, in words: "alice, bob", "anyone", "a proven person". */
    readonly whoMay: Readonly<Record<Verb, string>>;
  };
}

const COMPARISON: Readonly<Record<string, string>> = {
  GreaterThanThreshold: '>',
  GreaterThanOrEqualToThreshold: '>=',
  LessThanThreshold: '<',
  LessThanOrEqualToThreshold: '<=',
};

/** One gate, as a person reviewing a release reads it. */
export function gateText(gate: GateSpec): string {
  switch (gate.kind) {
    case 'alarm':
      return gate.name === PROCESS_HEALTH_GATE
        ? "the new version's processes keep running (a crash fails it)"
        : `CloudWatch alarm ${gate.name} in ALARM fails it`;
    case 'metric': {
      const metric = typeof gate.metric === 'string' ? gate.metric : `${gate.metric.namespace} ${gate.metric.metricName}`;
      return `${metric} ${gate.statistic} ${COMPARISON[gate.comparison] ?? gate.comparison} ${gate.threshold} over ${formatDuration(gate.periodSeconds)}${gate.evaluationPeriods > 1 ? ` x ${gate.evaluationPeriods}` : ''} fails it (inconclusive under ${gate.minSamples} samples)`;
    }
    case 'judge':
      return `the new version's ${gate.signal} against the stable version's, side by side (alpha ${gate.alpha}, tolerance ${Math.round(gate.tolerance * 100)}%)`;
    case 'webhook':
      return `POST ${gate.url} ${gate.when === 'before-traffic' ? 'once, before any production traffic' : 'in every bake'} (timeout ${formatDuration(gate.timeoutSeconds)})`;
  }
}

/** Who may take a decision, in words, from the service's rules (core/authority.ts). */
function whoMay(svc: ServiceConfig): Record<Verb, string> {
  const rules = svc.settings.approvalRules;
  const table = authorityOf(rules);
  const words = (verb: Verb): string => {
    const who = table[verb];
    if (who === 'anyone') return 'anyone authenticated';
    if (who === 'people') return 'a proven person (one of people in the config)';
    return guarded(rules) ? rules.approvers.join(', ') : 'anyone authenticated (the service has no approvers)';
  };
  return Object.fromEntries(VERBS.map((verb) => [verb, words(verb)])) as Record<Verb, string>;
}

/** The plan, gates and approvals part of a diff: the service's config alone. */
function planned(svc: ServiceConfig, change: VersionChange): ReleaseDiff {
  return {
    service: svc.name,
    driver: svc.target.driver,
    change,
    plan: { strategy: svc.plan.strategy, steps: svc.plan.steps, labels: svc.plan.steps.map(stepLabel) },
    gates: svc.settings.gates.map((g) => ({ name: g.name, kind: g.kind, text: gateText(g) })),
    approvals: {
      points: svc.plan.steps.flatMap((s) => (s.type === 'approval' ? [{ label: s.label, timeoutSeconds: s.timeoutSeconds, onTimeout: s.onTimeout }] : [])),
      approvers: svc.settings.approvalRules.approvers,
      fourEyes: svc.settings.approvalRules.fourEyes,
      whoMay: whoMay(svc),
    },
  };
}

/**
 * What releasing `subject` to `serviceName` would change. Reads the running task definition of an AWS
 * service (never writes); a local service's change is its VERSION (the command stays).
 * @throws {ValidationError} an unknown service, or a task definition file for a local service
 */
export async function releaseDiff(
  config: SwitchyardConfig,
  serviceName: string,
  subject: DiffSubject,
  { clients, region }: { clients?: ImportClients; region?: string } = {},
): Promise<ReleaseDiff> {
  const svc = config.services.find((s) => s.name === serviceName);
  if (!svc) throw new ValidationError(`unknown service "${serviceName}"; configured services: ${config.services.map((s) => s.name).join(', ')}`);
  const target = svc.target;
  if (target.driver === 'local') {
    if (!('image' in subject))
      throw new ValidationError(
        `${subject.file}: ${svc.name} is a local service, which runs a command, not a task definition; pass the version to release (for example v2)`,
      );
    const command = Array.isArray(target.command) ? target.command.join(' ') : String(target.command);
    return planned(svc, { kind: 'local', command, from: target.initialVersion, to: subject.image });
  }
  if ('image' in subject && !IMAGE_PATTERN.test(subject.image))
    throw new ValidationError(
      `"${subject.image}" is not an image reference a release takes (repository[:tag][@sha256:<64 hex>], lowercase repository, optional registry host)`,
    );
  const ref = { cluster: target.cluster, service: target.service, ...(region ? { region } : {}) };
  const running = await readEcsService(ref, { alarms: false, ...(clients ? { clients } : {}) });
  const before = registerable(running.taskDefinition, running.tags);
  const after =
    'image' in subject
      ? nextRevision(running.taskDefinition, running.tags, target.containerName, pinnedImage({ artifact: parseArtifact(subject.image) }), target.taskDefinition)
      : nextRevision(running.taskDefinition, running.tags, target.containerName, IMAGE_PLACEHOLDER, {
          template: registerable(subject.taskDefinition as never) as unknown as Record<string, unknown>,
        });
  const all = diffTaskDefinitions(before, after);
  // ECS's service names the revision of its newest deployment, which may still be rolling out.
  const current = running.deployments.find((d) => d.status === 'PRIMARY' && d.rolloutState === 'IN_PROGRESS');
  const inProgress = current && {
    revision: current.taskDefinition ?? '',
    rolloutState: current.rolloutState ?? '',
    runningCount: current.runningCount ?? 0,
    others: running.deployments
      .filter((d) => d !== current)
      .map((d) => ({ revision: d.taskDefinition ?? '', status: d.status ?? '', runningCount: d.runningCount ?? 0 })),
  };
  const image = 'image' in subject ? subject.image : undefined;
  const runningImage = running.taskDefinition.containerDefinitions?.find((c) => c.name === target.containerName)?.image;
  const sameTag = image !== undefined && !image.includes('@') && runningImage === image ? image : undefined;
  return planned(svc, {
    kind: 'task-definition',
    running: running.taskDefinition.taskDefinitionArn ?? '',
    changes: all,
    truncated: all.length >= MAX_CHANGES,
    ...(inProgress ? { inProgress } : {}),
    ...(sameTag ? { sameTag } : {}),
    ...(running.tagsUnread ? { tagsUnread: running.tagsUnread } : {}),
  });
}

/** The diff for people, in lines. */
export function releaseDiffText(diff: ReleaseDiff): string[] {
  const lines: string[] = [`${diff.service} (${diff.driver}): what a release would change (nothing was changed)`, ''];
  const change = diff.change;
  if (change.kind === 'local') {
    lines.push(
      `Version    ${change.from} -> ${change.to}   (${change.from} is the version at first start; \`switchyard get ${diff.service}\` shows the one running)`,
    );
    lines.push(`Command    ${change.command}   (the same for every version; VERSION=${change.to} in its environment)`);
  } else {
    const flight = change.inProgress;
    if (flight) {
      const serving = flight.others.filter((o) => o.runningCount > 0);
      lines.push(
        `A deployment is in progress: ${flight.revision} (rollout ${flight.rolloutState}, ${flight.runningCount} task${flight.runningCount === 1 ? '' : 's'} running)` +
          (serving.length
            ? `; ${serving.map((o) => `${o.revision} (${o.status}, ${o.runningCount} task${o.runningCount === 1 ? '' : 's'})`).join(', ')} still serve${serving.length === 1 ? 's' : ''} production`
            : ''),
        `  this diff is against ${change.running}, the revision the service names; a release would first wait for that deployment to end`,
        '',
      );
    }
    lines.push(`Task definition   from ${change.running}`);
    if (change.sameTag)
      lines.push(
        `  no change in the task definition, but the release still deploys: ECS resolves ${change.sameTag} to a digest again, so if the tag was pushed again the new tasks run the newer image`,
      );
    else if (change.changes.length === 0) lines.push('  no change: the release would register the same revision');
    lines.push(...change.changes.map((c) => `  ${formatChange(c)}`));
    if (change.truncated) lines.push(`  (the first ${MAX_CHANGES} changes)`);
    if (change.tagsUnread) lines.push(`  (tags not compared: ${change.tagsUnread})`);
  }
  lines.push('', `Plan (${diff.plan.strategy})   ${diff.plan.labels.join(' -> ')}`);
  lines.push('', 'Gates');
  if (diff.gates.length === 0) lines.push('  none: nothing is watched during the bakes');
  lines.push(...diff.gates.map((g) => `  ${g.name} (${g.kind}): ${g.text}`));
  lines.push('', 'Approvals');
  const a = diff.approvals;
  if (a.points.length === 0) lines.push('  none in the plan');
  lines.push(
    ...a.points.map((p) => `  ${p.label}: waits up to ${formatDuration(p.timeoutSeconds)}, then ${p.onTimeout === 'approve' ? 'goes on' : 'rolls back'}`),
  );
  lines.push(`  who may approve: ${a.whoMay.approve}${a.fourEyes ? ' (four-eyes: not the person who started the release)' : ''}`);
  // The other decisions, grouped by who may take them.
  const groups = new Map<string, Verb[]>();
  for (const verb of VERBS.filter((v) => v !== 'approve')) groups.set(a.whoMay[verb], [...(groups.get(a.whoMay[verb]) ?? []), verb]);
  lines.push(...[...groups].map(([who, verbs]) => `  ${verbs.join(', ')}: ${who}`));
  return lines;
}

import * as z from 'zod';
import type { ServiceConfig } from '../config/config.js';
import { ecrRegistry } from '../resources/partition.js';
import type { ReleaseService } from './releases.js';
import { imageReference, parseArtifact } from '../core/artifact.js';
import type { Log } from '../ports/log.js';

/** The EventBridge event ECR sends for an image action (only the fields Switchyard reads). */
const EcrEventSchema = z.object({
  /** EventBridge's id of this event; a redelivery of the same event keeps it. */
  id: z.string().min(1).max(128),
  source: z.literal('aws.ecr'),
  'detail-type': z.literal('ECR Image Action'),
  account: z.string().regex(/^\d{12}$/),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/),
  detail: z.object({
    result: z.string(),
    'action-type': z.string(),
    'repository-name': z.string().min(1).max(256),
    // Real digests have 64 hex digits; AWS's own documented sample has fewer, so accept any length.
    'image-digest': z.string().regex(/^sha256:[a-f0-9]{1,64}$/),
    // ECR does not always include the tag (for example a push by digest).
    'image-tag': z.string().min(1).max(128).optional(),
    // Present on newer events: what the pushed manifest carries (an image, a signature, an attestation).
    'manifest-media-type': z.string().optional(),
    'artifact-media-type': z.string().optional(),
  }),
});

export type TriggerOutcome =
  | { readonly outcome: 'ignored'; readonly reason: string }
  | { readonly outcome: 'invalid'; readonly reason: string }
  | {
      readonly outcome: 'started';
      /** Per service: the release the push started (`created`), or the one in flight it joined. */
      readonly releases: readonly { service: string; releaseId: string; created: boolean }[];
      /** Services the push did not start a release for, and why (they already serve this digest). */
      readonly skipped: readonly { service: string; reason: string }[];
    };

/**
 * Tags that name a signature, an attestation or an SBOM of another image rather than an image to
 * run: sigstore/cosign's `sha256-<digest>.sig|.att|.sbom` and the OCI referrers fallback `sha256-<digest>`.
 */
const ARTIFACT_TAG = /^sha256-[a-f0-9]{64}(\.[a-z]+)?$/;

/** The config media types of runnable container images (Docker and OCI); anything else is an artifact. */
const IMAGE_CONFIG_TYPES: ReadonlySet<string> = new Set(['application/vnd.docker.container.image.v1+json', 'application/vnd.oci.image.config.v1+json']);

/** Why a successful push is not a release candidate at all (a signature, an attestation), or undefined. */
export function notAnImage(tag: string | undefined, artifactMediaType: string | undefined): string | undefined {
  if (tag !== undefined && ARTIFACT_TAG.test(tag)) return `tag ${tag} names a signature, attestation or SBOM of another image, not an image to release`;
  if (artifactMediaType !== undefined && !IMAGE_CONFIG_TYPES.has(artifactMediaType))
    return `the pushed artifact is ${artifactMediaType}, not a container image`;
  return undefined;
}

/** Whether a push with `tag` (undefined: pushed by digest only) matches a service's trigger. */
export function triggerMatches(trigger: { readonly tagPattern: string; readonly untagged: boolean }, tag: string | undefined): boolean {
  return tag === undefined ? trigger.untagged : tagMatches(trigger.tagPattern, tag);
}

/** Glob-style tag patterns: `*` matches any run of characters, everything else is literal. */
export function tagMatches(pattern: string, tag: string | undefined): boolean {
  if (tag === undefined) return false;
  if (pattern === '*') return true;
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return regex.test(tag);
}

/**
 * ECR push -> releases. Maps repository and tag to services and pins the digest. Per service:
 * - a push of a digest that is already being released (or queued) joins that release;
 * - a push of the digest the service already serves starts nothing, and says why;
 * - any other push starts a release, also of a digest that was rolled back before.
 * Duplicate deliveries of one event collapse on EventBridge's event id. Unmapped repositories and
 * failed pushes are ignored; a malformed event starts nothing. Never throws for bad input, so
 * EventBridge does not retry it.
 */
export async function handleEcrEvent(
  event: unknown,
  deps: { services: readonly ServiceConfig[]; releases: ReleaseService; log: Log },
): Promise<TriggerOutcome> {
  const parsed = EcrEventSchema.safeParse(event);
  if (!parsed.success) {
    const reason = `not an ECR image action event: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; ')}`;
    deps.log.warn('ignored malformed event', { reason });
    return { outcome: 'invalid', reason };
  }
  const { detail, account, region, id: eventId } = parsed.data;
  const repository = detail['repository-name'];
  const tag = detail['image-tag'];
  const digest = detail['image-digest'];
  if (detail['action-type'] !== 'PUSH' || detail.result !== 'SUCCESS') {
    const reason = `${detail['action-type']} ${detail.result} of ${repository} is not a successful push`;
    deps.log.info('ignored event', { reason, repository });
    return { outcome: 'ignored', reason };
  }
  const artifact = notAnImage(tag, detail['artifact-media-type']);
  if (artifact) {
    deps.log.info('ignored event', { reason: artifact, repository, tag });
    return { outcome: 'ignored', reason: artifact };
  }
  const services = deps.services.filter((s) => s.trigger?.repository === repository && triggerMatches(s.trigger, tag));
  if (services.length === 0) {
    const reason = tag
      ? `no service is triggered by ${repository}:${tag}`
      : `no service of ${repository} releases untagged pushes (by digest only, such as the per-platform manifests of a multi-arch image); set trigger.untagged to release them`;
    deps.log.info('ignored event', { reason, repository, tag });
    return { outcome: 'ignored', reason };
  }
  const image = imageReference(`${ecrRegistry(account, region)}/${repository}`, tag, digest);
  const releases: { service: string; releaseId: string; created: boolean }[] = [];
  const skipped: { service: string; reason: string }[] = [];
  for (const svc of services) {
    const joined = (await deps.releases.inFlight(svc.name)).find((r) => r.artifact.digest === digest);
    if (joined) {
      deps.log.info('push joins the release of the same digest in flight', { releaseId: joined.id, service: svc.name, image, phase: joined.phase });
      releases.push({ service: svc.name, releaseId: joined.id, created: false });
      continue;
    }
    const stable = await deps.releases.stableImage(svc.name);
    if (stable !== undefined && parseArtifact(stable).digest === digest) {
      const reason = `${svc.name} already serves ${digest}: nothing to release`;
      deps.log.info('push starts nothing', { service: svc.name, image, reason });
      skipped.push({ service: svc.name, reason });
      continue;
    }
    const { release, created } = await deps.releases.startRelease({
      service: svc.name,
      image,
      actor: { id: `ecr:${repository}`, channel: 'ecr', proof: { by: 'ecr-event', subject: `${repository}@${eventId}` } },
      idempotencyKey: `ecr:${eventId}:${svc.name}`,
    });
    deps.log.info(created ? 'release started from ECR push' : 'duplicate ECR event collapsed', { releaseId: release.id, service: svc.name, image });
    releases.push({ service: svc.name, releaseId: release.id, created });
  }
  if (releases.length === 0) return { outcome: 'ignored', reason: skipped.map((s) => s.reason).join('; ') };
  return { outcome: 'started', releases, skipped };
}

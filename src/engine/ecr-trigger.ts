import * as z from 'zod';
import type { ServiceConfig } from '../config/config.js';
import type { ReleaseService } from './releases.js';
import type { Log } from '../ports/log.js';

/** The EventBridge event ECR sends for an image action (only the fields Switchyard reads). */
const EcrEventSchema = z.object({
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
  }),
});

export type TriggerOutcome =
  | { readonly outcome: 'ignored'; readonly reason: string }
  | { readonly outcome: 'invalid'; readonly reason: string }
  | { readonly outcome: 'started'; readonly releases: readonly { service: string; releaseId: string; created: boolean }[] };

/** Glob-style tag patterns: `*` matches any run of characters, everything else is literal. */
export function tagMatches(pattern: string, tag: string | undefined): boolean {
  if (pattern === '*') return true;
  if (tag === undefined) return false;
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return regex.test(tag);
}

/**
 * ECR push -> releases: maps repository and tag to services, pins the digest, and starts one
 * release per (service, digest) — duplicate deliveries collapse on that key. Unmapped
 * repositories and failed pushes are ignored; a malformed event starts nothing. Never throws for
 * bad input, so EventBridge does not retry it.
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
  const { detail, account, region } = parsed.data;
  const repository = detail['repository-name'];
  const tag = detail['image-tag'];
  const digest = detail['image-digest'];
  if (detail['action-type'] !== 'PUSH' || detail.result !== 'SUCCESS') {
    const reason = `${detail['action-type']} ${detail.result} of ${repository} is not a successful push`;
    deps.log.info('ignored event', { reason, repository });
    return { outcome: 'ignored', reason };
  }
  const services = deps.services.filter((s) => s.trigger?.repository === repository && tagMatches(s.trigger.tagPattern, tag));
  if (services.length === 0) {
    const reason = `no service is triggered by ${repository}${tag ? `:${tag}` : ''}`;
    deps.log.info('ignored event', { reason, repository, tag });
    return { outcome: 'ignored', reason };
  }
  const image = `${account}.dkr.ecr.${region}.amazonaws.com/${repository}${tag ? `:${tag}` : ''}@${digest}`;
  const releases = [];
  for (const svc of services) {
    const { release, created } = await deps.releases.startRelease({
      service: svc.name,
      image,
      actor: { id: `ecr:${repository}`, channel: 'ecr' },
      idempotencyKey: `ecr:${svc.name}:${digest}`,
    });
    deps.log.info(created ? 'release started from ECR push' : 'duplicate ECR event collapsed', { releaseId: release.id, service: svc.name, image });
    releases.push({ service: svc.name, releaseId: release.id, created });
  }
  return { outcome: 'started', releases };
}

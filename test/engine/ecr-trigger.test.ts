import { readFileSync } from 'node:fs';
import { codedeployTarget } from '../support/releases.js';
import { describe, expect, it, vi } from 'vitest';
import { handleEcrEvent, tagMatches } from '../../src/engine/ecr-trigger.js';
import { resolveConfig } from '../../src/config/config.js';
import type { ReleaseService } from '../../src/engine/releases.js';
import { silentLog } from '../../src/ports/log.js';

const target = codedeployTarget;

describe('ECR trigger', () => {
  const fixture = JSON.parse(readFileSync('test/fixtures/ecr-push-event.json', 'utf8')) as { detail: Record<string, unknown> };
  const config = resolveConfig({
    services: [
      {
        name: 'web',
        target: { ...target, service: 'web' },
        trigger: { repository: 'my-repository-name', tagPattern: 'lat*' },
        strategy: { type: 'blue-green' },
      },
      { name: 'worker', target: { ...target, service: 'worker' }, trigger: { repository: 'my-repository-name' }, strategy: { type: 'blue-green' } },
      { name: 'other', target: { ...target, service: 'other' }, trigger: { repository: 'other-repo', tagPattern: 'v*' }, strategy: { type: 'blue-green' } },
    ],
  });
  const releases = () => {
    const startRelease = vi.fn(async (input: { service: string }) => ({ release: { id: `r-${input.service}` }, created: true }));
    return { startRelease, service: { startRelease, inFlight: async () => [], stableImage: async () => undefined } as unknown as ReleaseService };
  };

  it('the documented push starts one release per matching service, pinned by digest, deduplicated on the event id', async () => {
    const r = releases();
    const out = await handleEcrEvent(fixture, { services: config.services, releases: r.service, log: silentLog });
    expect(out).toEqual({
      outcome: 'started',
      releases: [
        { service: 'web', releaseId: 'r-web', created: true },
        { service: 'worker', releaseId: 'r-worker', created: true },
      ],
      skipped: [],
    });
    expect(r.startRelease.mock.calls[0]?.[0]).toEqual({
      service: 'web',
      image: '123456789012.dkr.ecr.us-west-2.amazonaws.com/my-repository-name:latest@sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234',
      actor: { id: 'ecr:my-repository-name', channel: 'ecr', proof: { by: 'ecr-event', subject: 'my-repository-name@13cde686-328b-6117-af20-0e5566167482' } },
      idempotencyKey: 'ecr:13cde686-328b-6117-af20-0e5566167482:web',
    });
  });

  it('a push without a tag (a per-platform manifest of a multi-arch image) starts nothing unless a service opts in with trigger.untagged', async () => {
    const r = releases();
    const { 'image-tag': _tag, ...detail } = fixture.detail;
    const untagged = { ...fixture, detail };
    const ignored = await handleEcrEvent(untagged, { services: config.services, releases: r.service, log: silentLog });
    expect(ignored).toEqual({
      outcome: 'ignored',
      reason:
        'no service of my-repository-name releases untagged pushes (by digest only, such as the per-platform manifests of a multi-arch image); set trigger.untagged to release them',
    });
    expect(r.startRelease).not.toHaveBeenCalled();
    const optedIn = resolveConfig({
      services: [
        {
          name: 'worker',
          target: { ...target, service: 'worker' },
          trigger: { repository: 'my-repository-name', untagged: true },
          strategy: { type: 'blue-green' },
        },
      ],
    });
    const out = await handleEcrEvent(untagged, { services: optedIn.services, releases: r.service, log: silentLog });
    expect(out).toMatchObject({ outcome: 'started', releases: [{ service: 'worker' }] });
  });

  it.each([
    [
      'a cosign signature tag',
      { 'image-tag': `sha256-${'ab'.repeat(32)}.sig` },
      `tag sha256-${'ab'.repeat(32)}.sig names a signature, attestation or SBOM of another image, not an image to release`,
    ],
    ['an attestation tag', { 'image-tag': `sha256-${'ab'.repeat(32)}.att` }, 'names a signature, attestation or SBOM'],
    ['an OCI referrers fallback tag', { 'image-tag': `sha256-${'ab'.repeat(32)}` }, 'names a signature, attestation or SBOM'],
    [
      'a signature artifact media type',
      { 'artifact-media-type': 'application/vnd.dev.cosign.artifact.sig.v1+json' },
      'the pushed artifact is application/vnd.dev.cosign.artifact.sig.v1+json, not a container image',
    ],
  ])('%s starts nothing, even for a service matching every tag', async (_name, change, reason) => {
    const r = releases();
    const out = await handleEcrEvent(
      { ...fixture, detail: { ...fixture.detail, ...change } },
      { services: config.services, releases: r.service, log: silentLog },
    );
    expect(out).toMatchObject({ outcome: 'ignored', reason: expect.stringContaining(reason) });
    expect(r.startRelease).not.toHaveBeenCalled();
  });

  it('an image pushed with its OCI config media type still releases', async () => {
    const r = releases();
    const out = await handleEcrEvent(
      { ...fixture, detail: { ...fixture.detail, 'artifact-media-type': 'application/vnd.oci.image.config.v1+json' } },
      { services: config.services, releases: r.service, log: silentLog },
    );
    expect(out).toMatchObject({ outcome: 'started' });
  });

  it.each([
    [
      'a FAILURE result',
      { ...fixture, detail: { ...fixture.detail, result: 'FAILURE' } },
      'ignored',
      'PUSH FAILURE of my-repository-name is not a successful push',
    ],
    [
      'an unknown repository',
      { ...fixture, detail: { ...fixture.detail, 'repository-name': 'unknown' } },
      'ignored',
      'no service is triggered by unknown:latest',
    ],
    [
      'a tag outside the pattern',
      { ...fixture, detail: { ...fixture.detail, 'repository-name': 'other-repo', 'image-tag': 'latest' } },
      'ignored',
      'no service is triggered by other-repo:latest',
    ],
    ['garbage', { hello: 'world' }, 'invalid', 'not an ECR image action event'],
    ['a bad digest', { ...fixture, detail: { ...fixture.detail, 'image-digest': 'sha256:xyz' } }, 'invalid', 'detail.image-digest'],
    ['null', null, 'invalid', 'not an ECR image action event'],
  ])('%s starts nothing and does not throw', async (_name, event, outcome, reason) => {
    const r = releases();
    const out = await handleEcrEvent(event, { services: config.services, releases: r.service, log: silentLog });
    expect(out.outcome).toBe(outcome);
    expect('reason' in out ? out.reason : '').toContain(reason);
    expect(r.startRelease).not.toHaveBeenCalled();
  });

  it.each([
    ['*', undefined, false],
    ['*', 'latest', true],
    ['v*', 'v1.2.3', true],
    ['v*', 'latest', false],
    ['release-*-prod', 'release-42-prod', true],
    ['1.0.0', '1.0.0', true],
    ['1.0.0', '1x0x0', false],
  ] as const)('tag pattern %s vs %s -> %s', (pattern, tag, matches) => {
    expect(tagMatches(pattern, tag)).toBe(matches);
  });
});

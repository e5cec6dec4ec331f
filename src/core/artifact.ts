/**
 * What an image reference is: `[registry/]repository[:tag][@sha256:digest]`. The release keeps the
 * image as given and the digest that pins it; the drivers deploy the pinned form.
 */

/** What a release ships. */
export interface Artifact {
  /** The image as given, for example `repo:1.8.2` or `repo@sha256:...`. */
  readonly image: string;
  readonly digest?: string;
}

/** Splits `repo:tag` / `repo@sha256:...` into the artifact; the digest pins the image once known. */
export function parseArtifact(image: string): Artifact {
  const at = image.indexOf('@sha256:');
  return at >= 0 ? { image, digest: image.slice(at + 1) } : { image };
}

/** Whether two artifacts are the same image: the same reference, or the same digest. */
export function sameImage(a: Artifact, b: Artifact): boolean {
  return a.image === b.image || (a.digest !== undefined && a.digest === b.digest);
}

/**
 * Whether `wanted` names `served`: the same image, or the tag a digest-pinned image was served under
 * (`api:1` names `api:1@sha256:…`; a person remembers the tag, the release kept the pin).
 */
export function namesImage(served: Artifact, wanted: Artifact): boolean {
  return sameImage(served, wanted) || (wanted.digest === undefined && served.digest !== undefined && served.image.split('@')[0] === wanted.image);
}

/**
 * The image reference of `repository` (with its registry host), its tag if it has one, pinned by `digest`.
 * @example imageReference('123456789012.dkr.ecr.eu-west-1.amazonaws.com/api', '1.8.2', 'sha256:ab…') // '…/api:1.8.2@sha256:ab…'
 */
export function imageReference(repository: string, tag: string | undefined, digest: string): string {
  return `${repository}${tag ? `:${tag}` : ''}@${digest}`;
}

/**
 * `repo:tag@sha256:…` -> `repo@sha256:…`: a task definition pins the exact image (a tag beside a
 * digest is only a label). An image without a digest is deployed as given.
 */
export function pinnedImage(release: { readonly artifact: Artifact }): string {
  const { image, digest } = release.artifact;
  if (!digest) return image;
  const repo = image.split('@')[0] ?? image;
  const lastSlash = repo.lastIndexOf('/');
  const colon = repo.indexOf(':', lastSlash + 1);
  return `${colon >= 0 ? repo.slice(0, colon) : repo}@${digest}`;
}

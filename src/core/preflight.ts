/**
 * Pre-flight checks: read-only facts about the target, checked before anything moves (as the
 * first step of every release, and by `switchyard verify`). A failed check refuses the release.
 */
export interface PreflightCheck {
  /** What was checked, for example "deployment group ready wait". */
  readonly name: string;
  readonly ok: boolean;
  /** What was found, and what to do when it is wrong. */
  readonly detail: string;
}

/** The failed checks in one sentence, for the release's reason. */
export function preflightFailures(checks: readonly PreflightCheck[]): string | undefined {
  const failed = checks.filter((c) => !c.ok);
  return failed.length === 0 ? undefined : failed.map((c) => `${c.name}: ${c.detail}`).join('; ');
}

/** Words and pictures for people: durations and the traffic split. */

/** Durations as people write them: "90s", "5m", "1h", "2d", or a number of seconds. */
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const PATTERN = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;

/**
 * The seconds a duration says, fractions kept ("0.4s" is 0.4, "1.5m" is exactly 90, "0.1m" exactly 6:
 * computed in decimal, so a whole number of seconds is never off by a float's last bit); undefined
 * when it is not a duration. Switchyard counts in whole seconds: see `parseDuration` and the config's
 * check that refuses what would be rounded.
 */
export function durationSeconds(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = PATTERN.exec(value.trim());
  if (!match) return undefined;
  const [, amount = '', unit = 's'] = match;
  const [whole = '', fraction = ''] = amount.split('.');
  const scale = 10n ** BigInt(fraction.length);
  const total = BigInt(whole + fraction) * BigInt(UNIT_SECONDS[unit] ?? 1);
  return total % scale === 0n ? Number(total / scale) : Number(total) / Number(scale);
}

/** Parses a duration into whole seconds (rounded); returns undefined when it is not one. */
export function parseDuration(value: string | number): number | undefined {
  const seconds = durationSeconds(value);
  return seconds === undefined ? undefined : Math.round(seconds);
}

/** "1h 5m 3s" style text for people. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join(' ');
}

/** The traffic split as a bar: the new version's share filled, for terminals and Slack. */
export function trafficBar(weight: number, width = 20): string {
  const filled = Math.round((weight / 100) * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

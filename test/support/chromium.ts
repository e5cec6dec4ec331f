import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium: never a browser a test tool downloads. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const INSTALL_COMMAND = 'apt-get update && apt-get install -y chromium';

/**
 * Makes sure Debian's Chromium is there: installs the package when it is missing and this runs as root
 * (a fresh CI machine), and otherwise fails with the exact command to run. Never skips.
 */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  const root = process.getuid?.() === 0;
  if (!root) throw new Error(`Chromium is not installed at ${CHROMIUM}; the browser tests need it. Run as root: ${INSTALL_COMMAND}`);
  const run = (args: string[]) =>
    spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 15 * 60_000 });
  const update = run(['update']);
  const install = update.status === 0 ? run(['install', '-y', 'chromium']) : update;
  if (install.status !== 0 || !existsSync(CHROMIUM)) {
    throw new Error(`installing Chromium failed (apt-get exited ${install.status ?? install.signal}); run: ${INSTALL_COMMAND}`);
  }
  return CHROMIUM;
}

/** Headless Chromium with the flags the machines need; nothing reaches the network. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: ensureChromium(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

import { readFile } from 'node:fs/promises';

/**
 * The dashboard: one HTML file with its script and styles inline (no build step, nothing fetched from
 * elsewhere), shipped as it is. `auth` says how its requests are authorized: `bearer` (local mode: the
 * page asks for the token once) or `signed` (`switchyard dashboard` signs them with AWS credentials).
 */
export async function dashboardPage(auth: 'bearer' | 'signed' = 'bearer'): Promise<string> {
  const html = await readFile(new URL('./dashboard.html', import.meta.url), 'utf8');
  return html.replace('__AUTH__', auth);
}

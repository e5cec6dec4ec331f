import { readFile } from 'node:fs/promises';

/**
 * The headers every dashboard file is served with, by local mode's API and by `switchyard dashboard`.
 * The policy allows scripts and styles only from the page's own files (no inline script or style, so
 * text a release carries can never run), requests only to this origin, and no framing.
 */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
};

/** One file of the dashboard: what it holds and its media type. */
export interface DashboardFile {
  readonly body: string;
  readonly type: string;
}

/** The dashboard's files by the path they are served at, with the headers they are served with. */
export interface DashboardFiles {
  readonly files: Readonly<Record<string, DashboardFile>>;
  readonly headers: Readonly<Record<string, string>>;
}

const read = (name: string) => readFile(new URL(`./${name}`, import.meta.url), 'utf8');

/**
 * The dashboard: an HTML page, its stylesheet and its script, shipped as they are (no build step, nothing
 * fetched from elsewhere). `auth` says how its requests are authorized: `bearer` (local mode: the page
 * asks for the token once) or `signed` (`switchyard dashboard` signs them with AWS credentials).
 */
export async function dashboardFiles(auth: 'bearer' | 'signed' = 'bearer'): Promise<DashboardFiles> {
  const [html, css, js] = await Promise.all([read('dashboard.html'), read('dashboard.css'), read('dashboard.js')]);
  return {
    files: {
      '/ui': { body: html.replace('__AUTH__', auth), type: 'text/html; charset=utf-8' },
      '/ui/dashboard.css': { body: css, type: 'text/css; charset=utf-8' },
      '/ui/dashboard.js': { body: js, type: 'text/javascript; charset=utf-8' },
    },
    headers: DASHBOARD_HEADERS,
  };
}

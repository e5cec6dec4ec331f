// Switchyard's dashboard: no build step, no request leaves this origin, and the Content-Security-Policy runs no
// inline script or style. It renders the API's release view (src/contract) and decides nothing: the phase, whether
// it is final, the decisions offered to you, the steps' labels, the series and the countdowns all come from there.
// Locally it is served
// with the API and sends the bearer token (asked for once, kept for this tab); through `switchyard
// dashboard` its requests are signed by the local server with your AWS credentials.
const AUTH = document.querySelector('meta[name="switchyard-auth"]').content;
const main = document.getElementById('main');
const status = document.getElementById('status');
const TOKEN_KEY = 'switchyard-token';
const token = () => sessionStorage.getItem(TOKEN_KEY) ?? '';
// switchyard dashboard: the session it printed comes in the address's fragment; kept for this tab.
const SESSION_KEY = 'switchyard-dashboard-session';
if (location.hash.startsWith('#session=')) {
  sessionStorage.setItem(SESSION_KEY, location.hash.slice('#session='.length));
  history.replaceState(null, '', location.pathname);
}
const authHeaders = () => ({
  ...(AUTH === 'bearer' && token() ? { authorization: `Bearer ${token()}` } : {}),
  ...(AUTH === 'signed' ? { 'x-dashboard-session': sessionStorage.getItem(SESSION_KEY) ?? '' } : {}),
});
let live; // the release stream being read, aborted when the view changes
let gateSeries = new Map(); // gate -> [{ t, value, threshold, lower, upper }]

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');
const ago = (iso) => {
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
};

/**
 * `key`: the Idempotency-Key of a change, kept by the caller for as long as the same change may be sent
 * again (a second click, a retry after no answer), so the API applies it once; a new one by default.
 */
async function api(path, init = {}, key = crypto.randomUUID()) {
  const headers = { ...(init.headers ?? {}), ...authHeaders() };
  if (init.body) headers['content-type'] = 'application/json';
  // A change is applied once, even if this request is sent again.
  if (init.method === 'POST') headers['idempotency-key'] = key;
  const res = await fetch(path, { ...init, headers });
  const body = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    const message = body?.error?.message ?? `${res.status} ${res.statusText}`;
    throw Object.assign(new Error(message), { status: res.status, code: body?.error?.code });
  }
  return body;
}

function login(next) {
  main.innerHTML = `<section class="card login"><h1>Sign in</h1>
  <p class="muted">Paste the API token Switchyard printed when it started (<code>Token …</code>), or your own person's token. It is kept for this tab only.</p>
  <form id="login"><label for="token">API token</label><br>
  <input id="token" type="password" autocomplete="off" required class="wide" autofocus>
  <p><button class="primary" type="submit">Sign in</button></p><p id="login-error" class="bad" role="alert"></p></form></section>`;
  document.getElementById('login').addEventListener('submit', async (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, document.getElementById('token').value.trim());
    // Checked against an endpoint that needs it: a wrong token is said at once, not at the first click.
    try {
      await api('/whoami');
      next();
    } catch (error) {
      sessionStorage.removeItem(TOKEN_KEY);
      document.getElementById('login-error').textContent = error.message;
    }
  });
}

// ---------- charts (SVG, drawn from data; no library) ----------
function stepChart(points, { height = 120, max = 100, label = '%', threshold, band } = {}) {
  const w = 600,
    h = height,
    pad = 28;
  if (points.length === 0) return `<p class="muted">no data yet</p>`;
  const t0 = points[0].t,
    t1 = Math.max(points.at(-1).t, t0 + 1000);
  const values = points.map((p) => p.v).concat(threshold ?? [], band ? points.flatMap((p) => [p.lo, p.hi].filter((x) => x != null)) : []);
  const top = max ?? Math.max(...values, 1) * 1.15;
  const x = (t) => pad + ((t - t0) / (t1 - t0)) * (w - pad - 8);
  const y = (v) => h - 18 - (Math.min(v, top) / top) * (h - 28);
  let d = '';
  points.forEach((p, i) => {
    d += i === 0 ? `M${x(p.t)},${y(p.v)}` : `H${x(p.t)}V${y(p.v)}`;
  });
  const last = points.at(-1);
  const bandPath = band
    ? points
        .filter((p) => p.lo != null && p.hi != null)
        .map((p) => `<line x1="${x(p.t)}" x2="${x(p.t)}" y1="${y(p.lo)}" y2="${y(Math.min(p.hi, top))}" stroke="#1f6feb55" stroke-width="4"/>`)
        .join('')
    : '';
  return `<svg viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(label)} over time, now ${esc(last.v)}" data-last="${esc(last.v)}" data-points="${points.length}">
  <line x1="${pad}" x2="${w - 8}" y1="${y(0)}" y2="${y(0)}" stroke="#d1d9e0"/>
  ${threshold != null ? `<line x1="${pad}" x2="${w - 8}" y1="${y(threshold)}" y2="${y(threshold)}" stroke="#cf222e" stroke-dasharray="5 4"/>` : ''}
  ${bandPath}
  <path d="${d}H${x(t1)}" fill="none" stroke="#1f6feb" stroke-width="2.5"/>
  <circle cx="${x(last.t)}" cy="${y(last.v)}" r="4" fill="#1f6feb"/>
</svg>
<p class="axis"><span>${esc(new Date(t0).toLocaleTimeString())}</span><span>0 to ${esc(Number(top.toFixed(3)))}${threshold != null ? ` · <span class="bad">limit ${esc(threshold)}</span>` : ''}</span><span>${esc(new Date(t1).toLocaleTimeString())}</span></p>`;
}

/** The split over time: numbers with times, as the API sends them (never read back from its sentences). */
const trafficPoints = (r) => r.trafficSeries.map((p) => ({ t: Date.parse(p.at), v: p.candidate }));

/** "1h 5m", "42s": a duration for people. */
function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const parts = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ].filter(([n]) => n > 0);
  return parts
    .slice(0, 2)
    .map(([n, u]) => `${n}${u}`)
    .join(' ');
}

/** The server's clock minus this browser's, from the view's own time: countdowns count on the server's clock. */
let skewMs = 0;
const serverNow = () => Date.now() + skewMs;

/** The release's countdown as text, now: what it waits for and how long is left. */
function countdownText(c) {
  const left = Math.max(0, (Date.parse(c.endsAt) - serverNow()) / 1000);
  return `${c.label}: ${duration(left)} left (until ${time(c.endsAt)})`;
}

/** The phases a release can be in, as the API's own document lists them (read once). */
let phaseNames;
const phases = async () => (phaseNames ??= (await api('/openapi.json')).components.schemas.Phase.enum);

/** Each gate's readings over time: the server keeps them with the release (gateHistory). */
function recordGates(r) {
  gateSeries = new Map(
    Object.entries(r.gateHistory ?? {}).map(([gate, points]) => [
      gate,
      points.map((p) => ({ t: Date.parse(p.at), v: p.value, threshold: p.threshold, lo: p.lower, hi: p.upper ?? undefined, verdict: p.verdict })),
    ]),
  );
}

// ---------- views ----------
async function home() {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const [services, list, phaseList] = await Promise.all([
    api('/services'),
    api(`/releases?${new URLSearchParams([...params].filter(([, v]) => v))}`),
    phases(),
  ]);
  const choices = ['', ...phaseList];
  main.innerHTML = `<h1>Services</h1><div class="grid">${services.services
    .map(
      (s) => `<section class="card" aria-label="service ${esc(s.name)}"><h2>${esc(s.name)} <span class="muted">${esc(s.driver)}, ${esc(s.strategy)}</span></h2>
    ${s.health ? `<p>${s.health.status === 'ok' ? '<span class="ok">●</span>' : '<span class="bad">●</span>'} ${esc(s.health.version ?? '')} · ${esc(s.health.replicas.running)}/${esc(s.health.replicas.wanted)} replicas</p>` : ''}
    <p>${s.activeRelease ? `active: <a href="#/releases/${esc(s.activeRelease)}">${esc(s.activeRelease)}</a>` : '<span class="muted">no active release</span>'}</p>
    ${startForm(s)}</section>`,
    )
    .join('')}</div>
  <section class="card"><h1>Releases</h1>
  <form class="filters" id="filters" aria-label="filter releases">
    <label>Service <select name="service"><option value="">all</option>${services.services.map((s) => `<option ${params.get('service') === s.name ? 'selected' : ''}>${esc(s.name)}</option>`).join('')}</select></label>
    <label>Phase <select name="phase">${choices.map((p) => `<option value="${p}" ${params.get('phase') === p ? 'selected' : ''}>${p || 'all'}</option>`).join('')}</select></label>
  </form>
  <table><thead><tr><th>release</th><th>service</th><th>image</th><th>started</th><th>phase</th><th>new</th></tr></thead><tbody>
  ${list.releases.map((r) => `<tr><td><a href="#/releases/${esc(r.id)}">${esc(r.id)}</a></td><td>${esc(r.service)}</td><td>${esc(r.image)}</td><td title="${esc(r.createdAt)}">${esc(ago(r.createdAt))} by ${esc(r.createdBy.id)}</td><td><span class="phase ${esc(r.phase)}">${esc(r.phase.replace('_', ' '))}</span></td><td>${esc(r.traffic.candidate)}%</td></tr>`).join('') || '<tr><td colspan="6" class="muted">no releases</td></tr>'}
  </tbody></table></section>`;
  for (const form of main.querySelectorAll('form.start')) form.addEventListener('submit', (e) => void start(e));
  document.getElementById('filters').addEventListener('change', (e) => {
    const form = new FormData(e.currentTarget);
    location.hash = `#/?${new URLSearchParams([...form].filter(([, v]) => v))}`;
  });
  status.textContent = `updated ${new Date().toLocaleTimeString()}`;
}

/**
 * The start form of a service, only where the API offers this caller a start (the service view's `offer`):
 * an image and Start; a reason and Expedite only where expedite is offered too; what is withheld, and why.
 */
function startForm(s) {
  const { starts, withheld } = s.offer;
  const why = withheld.length ? `<ul class="muted withheld">${withheld.map((w) => `<li>${esc(START_TEXT[w.action])}: ${esc(w.why)}</li>`).join('')}</ul>` : '';
  if (!starts.includes('start')) return why;
  const id = (field) => `start-${field}-${esc(s.name)}`;
  return `<form class="start" data-service="${esc(s.name)}" aria-label="start a release of ${esc(s.name)}">
    <label for="${id('image')}">Image</label>
    <input id="${id('image')}" name="image" required maxlength="512" autocomplete="off" spellcheck="false" placeholder="${esc(s.health?.version ?? 'repository:tag')}">
    ${starts.includes('expedite') ? `<label for="${id('reason')}">Reason to expedite (fewer steps, one approval)</label><input id="${id('reason')}" name="reason" maxlength="1000" autocomplete="off">` : ''}
    <div class="actions"><button type="submit" class="primary" value="start">${START_TEXT.start}</button>${starts.includes('expedite') ? `<button type="submit" value="expedite">${START_TEXT.expedite}</button>` : ''}</div>
    <div class="start-result" role="alert"></div></form>${why}`;
}
const START_TEXT = { start: 'Start', expedite: 'Expedite' };

/** Starts a release from a service's form, as the CLI does (POST /releases, with an Idempotency-Key); then follows it. */
async function start(e) {
  e.preventDefault();
  const form = e.currentTarget;
  const expedite = e.submitter?.value === 'expedite';
  const image = form.elements.image.value.trim();
  const reason = form.elements.reason?.value.trim();
  const result = form.querySelector('.start-result');
  const buttons = [...form.querySelectorAll('button')];
  // One submission at a time: a double click sends one request.
  if (buttons.some((b) => b.disabled)) return;
  const body = JSON.stringify({ service: form.dataset.service, image, ...(expedite ? { expedite: true, ...(reason ? { reason } : {}) } : {}) });
  // One key per submission of the same start, kept until the API has answered it: sent again after no
  // answer (a lost connection, a 5xx), it is still one release.
  if (pendingStarts.get(form)?.body !== body) pendingStarts.set(form, { body, key: crypto.randomUUID() });
  for (const b of buttons) b.disabled = true;
  try {
    const release = await api('/releases', { method: 'POST', body }, pendingStarts.get(form).key);
    pendingStarts.delete(form);
    location.hash = `#/releases/${encodeURIComponent(release.id)}`;
  } catch (error) {
    // A refusal (4xx) is final; after no answer or a 5xx the same key goes with the next click.
    if (error.status >= 400 && error.status < 500) pendingStarts.delete(form);
    if (error.status === 401 && AUTH === 'bearer') return login(() => route());
    // The API's own words: a bad image reference, a missing reason, an active release, who may start.
    const what = esc(START_TEXT[expedite ? 'expedite' : 'start']);
    result.innerHTML =
      error.status >= 400 && error.status < 500
        ? `<div class="error"><strong>${what} refused (${error.status}):</strong> ${esc(error.message)}</div>`
        : `<div class="error"><strong>${what}: no answer from the API</strong> (${esc(error.message)}). It may have started: ${what} again sends the same request, which starts it at most once.</div>`;
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}
/** The start each form is sending (its body and Idempotency-Key), until the API has answered it. */
const pendingStarts = new WeakMap();

const ACTIONS = {
  approve: { text: 'Approve', cls: 'primary', ask: 'Let the release go on past this step?' },
  reject: { text: 'Reject', cls: 'danger', ask: 'Reject: all traffic goes back to the stable version.' },
  promote: { text: 'Promote', cls: '', ask: 'Skip the remaining steps and send 100% to the new version?' },
  rollback: { text: 'Roll back', cls: 'danger', ask: 'Send 100% back to the stable version now?' },
  pause: {
    text: 'Pause',
    cls: '',
    ask: 'Hold the release at this step until someone resumes it? The bake stops counting; a failing gate still rolls it back.',
  },
  resume: { text: 'Resume', cls: 'primary', ask: 'Let the release go on? The bake continues with the time it had left.' },
  retry: { text: 'Retry', cls: 'primary', ask: 'Start a new release of this image, with the whole plan?' },
  undo: { text: 'Undo', cls: 'danger', ask: 'Return the service to the version it served before this release, at once (no bakes)?' },
};
/** Where each action is sent: a decision or a retry to the release, an undo to its service. */
const actionPath = (r, action) => (action === 'undo' ? `/services/${encodeURIComponent(r.service)}/undo` : `/releases/${encodeURIComponent(r.id)}/${action}`);
const buttons = (actions) => actions.map((a) => `<button type="button" class="${ACTIONS[a].cls}" data-action="${a}">${ACTIONS[a].text}</button>`).join('');
/** What the release's rules keep from you, in the API's words. */
const withheld = (r) =>
  r.withheld.length
    ? `<ul class="muted withheld">${r.withheld.map((w) => `<li>${esc(ACTIONS[w.action]?.text ?? w.action)}: ${esc(w.why)}</li>`).join('')}</ul>`
    : '';

function decisionCard(r) {
  if (r.final) {
    if (r.followUps.length === 0 && r.withheld.length === 0) return '';
    return `<section class="card" aria-label="decision" id="decision"><h2>After this release</h2>
  <div class="actions">${buttons(r.followUps)}</div>${withheld(r)}<div id="decision-result" role="alert"></div></section>`;
  }
  const gates = r.gateResults
    .map((g) => `<li class="${g.verdict === 'pass' ? 'ok' : g.verdict === 'fail' ? 'bad' : 'warn'}">${esc(g.summary ?? `${g.gate}: ${g.verdict}`)}</li>`)
    .join('');
  return `<section class="card ${r.pendingApproval ? 'decision' : ''}" aria-label="decision" id="decision">
  <h2>${r.pendingApproval ? `Waiting for a person: ${esc(r.pendingApproval.label)}` : r.paused ? `Paused by ${esc(r.paused.by.id)}` : 'Steer this release'}</h2>
  ${r.paused ? `<p class="paused">Held at ${esc(r.traffic.candidate)}% since ${esc(time(r.paused.at))}${r.paused.comment ? ` (“${esc(r.paused.comment)}”)` : ''}; ${esc(duration(r.paused.bakeLeftSeconds))} of the bake left when it resumes.${r.paused.until ? ` The target holds at most until ${esc(time(r.paused.until))}, then the release rolls back.` : ''}</p>` : ''}
  ${r.pendingApproval ? `<p>Until ${esc(time(r.pendingApproval.expiresAt))}, then <strong>${esc(r.pendingApproval.onTimeout)}</strong>. ${esc(r.traffic.candidate)}% of production is on the new version.</p>` : ''}
  ${r.countdown ? `<p class="countdown" data-ends="${esc(r.countdown.endsAt)}" data-label="${esc(r.countdown.label)}">${esc(countdownText(r.countdown))}</p>` : ''}
  ${gates ? `<p><strong>Evidence</strong> (the gates, the new version against its limits and the stable version):</p><ul>${gates}</ul>` : ''}
  <p><strong>Image</strong> <code>${esc(r.previous ?? 'the version served now')}</code> → <code>${esc(r.image)}</code></p>
      ${r.pendingApproval && r.recentErrors?.length ? `<p><strong>The new version's latest errors</strong></p><pre>${esc(r.recentErrors.map((e) => `${time(e.time)} ${e.source ? `[${e.source}] ` : ''}${e.message}`).join('\n'))}</pre>` : ''}
      ${r.changes?.length ? `<p><strong>Task definition changes</strong></p><pre>${esc(r.changes.map((c) => (c.before === undefined ? `+ ${c.path}: ${c.after}` : c.after === undefined ? `- ${c.path}: ${c.before}` : `~ ${c.path}: ${c.before} → ${c.after}`)).join('\n'))}</pre>` : ''}
  <div class="actions">${buttons(r.decisions)}</div>${withheld(r)}
  <div id="decision-result" role="alert"></div></section>`;
}

function releaseHtml(r) {
  const gates = [...gateSeries.entries()]
    .map(([name, series]) => {
      const last = series.at(-1);
      return `<div><h2>${esc(name)} <span class="${last.verdict === 'pass' ? 'ok' : last.verdict === 'fail' ? 'bad' : 'warn'}">${esc(last.verdict)}</span></h2>
    ${stepChart(series, { max: null, label: name, threshold: last.threshold, band: series.some((p) => p.lo != null) })}</div>`;
    })
    .join('');
  return `<p><a href="#/">← all services</a></p>
  <h1>${esc(r.service)} → ${esc(r.image)} <span class="phase ${esc(r.phase)}">${esc(r.phase.replace('_', ' '))}</span></h1>
  <p class="muted">${esc(r.id)} · started ${esc(time(r.createdAt))} by ${esc(r.createdBy.id)} (${esc(r.createdBy.channel)}) · <span class="duration">${r.final ? 'took' : 'running for'} ${esc(duration(r.durationSeconds))}</span>${r.reason ? ` · <span class="${r.phase === 'succeeded' ? '' : 'bad'}">${esc(r.reason)}</span>` : ''}</p>
  ${decisionCard(r)}
  <div class="grid">
    <section class="card" aria-label="traffic"><h2>Traffic: <span id="weight">${esc(r.traffic.candidate)}</span>% new · ${esc(r.traffic.stable)}% stable</h2>
      <div id="traffic-chart">${stepChart(trafficPoints(r), { label: 'production traffic on the new version' })}</div>
      <p class="legend">production traffic on the new version, as the target reported it</p></section>
    <section class="card" aria-label="gates"><h2>Gates</h2>${gates || '<p class="muted">no gate checked yet</p>'}</section>
  </div>
  <section class="card" aria-label="plan"><h2>Plan (${esc(r.strategy)})</h2><ol class="plan">${r.steps.map((s) => `<li class="${s.status}" ${s.status === 'current' ? 'aria-current="step"' : ''}>${esc(s.label)}</li>`).join('')}</ol></section>
  <section class="card" aria-label="logs"><h2>New version's recent errors <a class="small-link" href="#/releases/${esc(r.id)}/logs">all logs →</a></h2><div id="errors"><p class="muted">…</p></div></section>
  <section class="card" aria-label="timeline"><h2>Timeline</h2><table><tbody>${r.timeline
    .slice()
    .reverse()
    .map(
      (e) =>
        `<tr><td class="muted">${esc(time(e.at))}</td><td>${esc(e.message)}${e.comment ? ` <em>“${esc(e.comment)}”</em>` : ''}</td><td>${e.actor ? `${esc(e.actor.id)} <span class="muted">(${esc(e.actor.channel)})</span>` : ''}</td></tr>`,
    )
    .join('')}</tbody></table></section>`;
}

async function errors(r) {
  const box = document.getElementById('errors');
  if (!box) return;
  try {
    const out = await api(`/releases/${encodeURIComponent(r.id)}/logs?version=new&grep=error&limit=8`);
    box.innerHTML = out.lines.length
      ? `<pre>${esc(out.lines.map((l) => `${time(l.time)} [${l.version}#${l.replica}] ${l.message}`).join('\n'))}</pre>`
      : '<p class="muted">no error lines from the new version</p>';
  } catch (error) {
    box.innerHTML = `<p class="muted">${esc(error.message)}</p>`;
  }
}

async function act(r, action) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = `${ACTIONS[action].text} ${r.image}?`;
  document.getElementById('confirm-text').textContent =
    action === 'pause' && r.pauseUntil
      ? `Hold the release at this step until ${time(r.pauseUntil)} at most? The target holds this step no longer: unless someone resumes it by then, the release rolls back. The bake stops counting; a failing gate still rolls it back.`
      : ACTIONS[action].ask;
  document.getElementById('confirm-comment').value = '';
  const ok = document.getElementById('confirm-ok');
  ok.className = ACTIONS[action].cls || 'primary';
  ok.textContent = ACTIONS[action].text;
  dialog.showModal();
  const answer = await new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue), { once: true }));
  if (answer !== 'ok') return;
  const comment = document.getElementById('confirm-comment').value.trim();
  const result = document.getElementById('decision-result');
  // No second decision while one is in flight (a retry or an undo would be a second release).
  const buttons = [...main.querySelectorAll('[data-action]')];
  for (const b of buttons) b.disabled = true;
  try {
    const answer = await api(actionPath(r, action), { method: 'POST', body: JSON.stringify(comment ? { comment } : {}) });
    // A retry or an undo is a release of its own: follow it there.
    if (answer?.id && answer.id !== r.id) location.hash = `#/releases/${encodeURIComponent(answer.id)}`;
    if (result) result.innerHTML = `<p class="ok">${esc(ACTIONS[action].text)}: sent.</p>`;
  } catch (error) {
    // The API's own rule and words (allowlist, four-eyes, state): the same as from the CLI or Slack.
    if (error.status === 401 && AUTH === 'bearer') return login(() => route());
    if (result)
      result.innerHTML = `<div class="error"><strong>${esc(ACTIONS[action].text)} refused${error.status ? ` (${error.status})` : ''}:</strong> ${esc(error.message)}</div>`;
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

/** Reads the server-sent events of one release (fetch, so the token can go in a header). */
async function follow(id, onRelease) {
  live?.abort();
  const controller = new AbortController();
  live = controller;
  const headers = authHeaders();
  for (let attempt = 0; !controller.signal.aborted; attempt++) {
    try {
      const res = await fetch(`/releases/${encodeURIComponent(id)}/events`, { headers, signal: controller.signal });
      if (res.status === 401 && AUTH === 'bearer') return login(() => route());
      if (!res.ok || !res.body) {
        // The API's own words: which stream limit (429 per client, 503 in all) and what to do.
        const body = await res.json().catch(() => undefined);
        throw new Error(body?.error?.message ?? `${res.status}`);
      }
      status.textContent = 'live';
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          if (event.includes('event: release') && data) onRelease(JSON.parse(data));
        }
      }
      status.textContent = 'stream ended';
      return;
    } catch (error) {
      if (controller.signal.aborted) return;
      status.textContent = `reconnecting (${error.message})`;
      await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** attempt)));
    }
  }
}

async function releaseView(id) {
  gateSeries = new Map();
  const first = await api(`/releases/${encodeURIComponent(id)}`);
  const draw = (r) => {
    skewMs = Date.parse(r.at) - Date.now();
    recordGates(r);
    const focused = document.activeElement?.dataset?.action;
    main.innerHTML = releaseHtml(r);
    main.dataset.phase = r.phase;
    main.dataset.weight = String(r.traffic.candidate);
    for (const b of main.querySelectorAll('[data-action]')) b.addEventListener('click', () => act(r, b.dataset.action));
    if (focused) main.querySelector(`[data-action="${focused}"]`)?.focus();
    void errors(r);
  };
  draw(first);
  if (!first.final) void follow(id, draw);
}

async function logsView(id) {
  const version = new URLSearchParams(location.hash.split('?')[1] ?? '').get('version') ?? 'new';
  const out = await api(`/releases/${encodeURIComponent(id)}/logs?version=${version}&limit=500`);
  main.innerHTML = `<p><a href="#/releases/${esc(id)}">← release ${esc(id)}</a></p><h1>Logs of ${esc(out.service)} ${esc(out.version)}</h1>
  <p><a href="#/releases/${esc(id)}/logs?version=new">new version</a> · <a href="#/releases/${esc(id)}/logs?version=stable">stable version</a> · <a href="#/releases/${esc(id)}/logs?version=switchyard">Switchyard's own lines</a>${out.insights ? ` · <a href="${esc(out.insights)}" target="_blank" rel="noopener noreferrer">open in CloudWatch Logs Insights</a>` : ''}</p>
  <section class="card" aria-label="log lines"><pre>${esc(out.lines.map((l) => `${l.time} [${l.version}#${l.replica} ${l.stream}] ${l.message}`).join('\n') || 'no lines')}</pre>${out.truncated ? '<p class="muted">Older lines were not read: the read stopped at its bound on bytes looked through (<code>switchyard logs --grep</code> narrows it).</p>' : ''}</section>`;
}

async function route() {
  live?.abort();
  const hash = location.hash.replace(/^#/, '') || '/';
  const path = hash.split('?')[0];
  try {
    const m = /^\/releases\/([^/]+)(\/logs)?$/.exec(path);
    if (m && m[2]) await logsView(decodeURIComponent(m[1]));
    else if (m) await releaseView(decodeURIComponent(m[1]));
    else await home();
  } catch (error) {
    if (error.status === 401 && AUTH === 'bearer') return login(() => route());
    main.innerHTML = `<div class="error">${esc(error.message)}</div>`;
  }
}

window.addEventListener('hashchange', () => void route());
// Countdowns tick on the server's clock between the views the stream sends.
setInterval(() => {
  for (const el of document.querySelectorAll('.countdown[data-ends]')) el.textContent = countdownText({ endsAt: el.dataset.ends, label: el.dataset.label });
}, 1000);
// The list refreshes every 10 s while visible; a release view is live over its event stream instead.
setInterval(() => {
  if (
    !document.hidden &&
    (location.hash === '' || location.hash.startsWith('#/?') || location.hash === '#/') &&
    !document.querySelector('dialog[open]') &&
    document.activeElement?.tagName !== 'SELECT' &&
    // Never under someone's typing: a start form being filled in, or one that says why it was refused.
    ![...document.querySelectorAll('form.start input')].some((i) => i.value !== '' || i === document.activeElement) &&
    !document.querySelector('.start-result .error')
  )
    void home().catch(() => undefined);
}, 10_000);
if (AUTH === 'bearer' && !token()) login(() => route());
else void route();

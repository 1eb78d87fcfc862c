// The dashboard: what runs now, what failed lately, how runs went over a day or a week, what
// fires next, and whether the sandbox and the container engine are ready.
import { get } from './api.js';
import { badge, fill, h, notice, svg, time } from './dom.js';
import { connection } from './page-servers.js';

export default async function page(main, _params, app) {
  app.setTitle('Dashboard');
  let window = new URLSearchParams(location.search).get('window') === '7d' ? '7d' : '24h';
  const counts = h('div', { class: 'grid', id: 'counts' });
  const chart = h('div', { class: 'panel' });
  const next = h('div');
  const health = h('div');
  const switcher = h('div', { class: 'row', role: 'group', 'aria-label': 'Chart window' },
    ['24h', '7d'].map((w) => h('button', { type: 'button', 'aria-pressed': String(w === window), onclick: () => {
      window = w;
      for (const button of switcher.children) button.setAttribute('aria-pressed', String(button.textContent === w));
      history.replaceState(null, '', w === '24h' ? '/' : '/?window=7d');
      drawStats();
    } }, w)));
  fill(main,
    h('h1', {}, 'Dashboard'),
    counts,
    h('div', { class: 'row spread' }, h('h2', {}, 'Runs that ended'), switcher),
    chart,
    h('h2', {}, 'Next fires'), next,
    h('h2', {}, 'Health'), health);

  async function drawStats() {
    try {
      const stats = await get(`/api/v1/executions/stats?window=${window}`);
      drawCounts(counts, stats);
      fill(chart, runsChart(stats));
    } catch (error) {
      fill(chart, notice(error.message));
    }
  }
  await Promise.all([drawStats(), drawNext(next), drawHealth(health)]);
  // The counts follow the runs while the page is open.
  const timer = setInterval(drawStats, 5000);
  return () => clearInterval(timer);
}

function drawCounts(element, stats) {
  let ended = 0, succeeded = 0, failed = 0;
  for (const bucket of stats.buckets) {
    for (const [status, count] of Object.entries(bucket.ended)) {
      ended += count;
      if (status === 'SUCCESS') succeeded += count;
      if (status === 'FAILURE' || status === 'TIMEOUT') failed += count;
    }
  }
  const span = stats.sliceSeconds === 3600 ? '24 h' : '7 days';
  fill(element,
    stat('Running now', stats.running, '/executions?status=RUNNING', 'running'),
    stat('Queued', stats.pending, '/executions?status=PENDING', 'queued'),
    stat(`Failed, last ${span}`, failed, '/executions?status=FAILURE', 'failed'),
    stat(`Success rate, last ${span}`, ended ? `${Math.round((100 * succeeded) / ended)} %` : '—', null, 'success-rate'));
}

function stat(label, value, href, id) {
  const body = [h('div', { class: 'value', id: `stat-${id}` }, String(value)), h('div', { class: 'label' }, label)];
  return h('div', { class: 'stat' }, href ? h('a', { href }, body) : body);
}

/** Bars of ended runs per slice (succeeded, and the rest on top) and a line of mean durations. */
function runsChart(stats) {
  const width = 720, height = 200, pad = 28;
  const slots = stats.buckets.length;
  const slot = (width - pad * 2) / slots;
  const totals = stats.buckets.map((b) => Object.values(b.ended).reduce((a, c) => a + c, 0));
  const highest = Math.max(1, ...totals);
  const longest = Math.max(1, ...stats.buckets.map((b) => b.meanDurationMs ?? 0));
  const y = (count) => height - pad - ((height - pad * 2) * count) / highest;
  const label = (bucket) => {
    const date = new Date(bucket.start);
    return stats.sliceSeconds === 3600 ? `${String(date.getHours()).padStart(2, '0')}h` : date.toLocaleDateString(undefined, { weekday: 'short' });
  };
  const parts = [svg('line', { class: 'axis', x1: pad, y1: height - pad, x2: width - pad, y2: height - pad })];
  const line = [];
  stats.buckets.forEach((bucket, i) => {
    const ok = bucket.ended.SUCCESS ?? 0;
    const x = pad + i * slot + slot * 0.15;
    const w = slot * 0.7;
    const summary = `${label(bucket)}: ${totals[i]} ended, ${ok} succeeded` + (bucket.meanDurationMs != null ? `, mean ${bucket.meanDurationMs} ms` : '');
    parts.push(svg('rect', { class: 'bar-ok', x, y: y(ok), width: w, height: height - pad - y(ok) }, svg('title', {}, summary)));
    parts.push(svg('rect', { class: 'bar-bad', x, y: y(totals[i]), width: w, height: y(ok) - y(totals[i]) }, svg('title', {}, summary)));
    if (slots <= 7 || i % 3 === 0) parts.push(svg('text', { x: x + w / 2, y: height - pad + 14, 'text-anchor': 'middle' }, label(bucket)));
    if (bucket.meanDurationMs != null) line.push(`${x + w / 2},${height - pad - ((height - pad * 2) * bucket.meanDurationMs) / longest}`);
  });
  if (line.length > 1) parts.push(svg('polyline', { class: 'line', points: line.join(' ') }));
  parts.push(svg('text', { x: pad, y: pad - 10 }, `top: ${highest} ${highest === 1 ? 'run' : 'runs'}`));
  parts.push(svg('text', { x: width - pad, y: pad - 10, 'text-anchor': 'end' }, `line: mean duration (top ${longest} ms)`));
  return svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'Runs that ended, by slice: succeeded in green, the rest in red; the line is their mean duration' }, ...parts);
}

async function drawNext(element) {
  try {
    const events = await get('/api/v1/events');
    const upcoming = events.filter((e) => e.nextFireAt).sort((a, b) => a.nextFireAt.localeCompare(b.nextFireAt)).slice(0, 5);
    fill(element, upcoming.length === 0 ? h('p', { class: 'muted' }, 'No event is scheduled to fire.')
      : h('ul', {}, upcoming.map((e) => h('li', {}, time(e.nextFireAt), ' — ', h('a', { href: `/events/${e.id}` }, e.name)))));
  } catch (error) {
    fill(element, notice(error.message));
  }
}

async function drawHealth(element) {
  try {
    const ready = await get('/ready');
    const rows = (ready.sandbox ?? []).map((p) => h('li', {}, badge(p.active ? 'ACTIVE' : 'PAUSED'), ' ', h('strong', {}, p.name), ': ', p.detail));
    if (ready.containerEngine) {
      rows.push(h('li', {}, badge(ready.containerEngine.available ? 'ACTIVE' : 'PAUSED'), ' ', h('strong', {}, 'container engine'), ': ', ready.containerEngine.detail));
    }
    const servers = await get('/api/v1/servers');
    fill(element, h('p', {}, 'Server ', badge(ready.status === 'ready' ? 'ACTIVE' : 'PAUSED'), ` version ${ready.version}`), h('ul', {}, rows),
      servers.length ? [h('h3', {}, 'Your servers'), h('ul', { id: 'server-health' }, servers.map((s) => h('li', {},
        h('a', { href: `/servers/${encodeURIComponent(s.name)}` }, s.name), ': ', s.hostKeyMismatch ? [badge('FAILURE'), ' host key changed'] : connection(s))))] : null);
  } catch (error) {
    fill(element, notice(`The server is not ready: ${error.message}`));
  }
}

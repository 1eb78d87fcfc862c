// A schedule's ledger, for an event or a workflow: every occurrence that fell due and what became
// of it (ran, skipped, queued, replaced, missed, caught up) with why, as a timeline and a table,
// newest first, 100 at a time.
import { get } from './api.js';
import { badge, fill, h, svg, table, time } from './dom.js';

/** How each outcome is drawn: the badge's colour class. */
const outcomeBadge = { RAN: 'SUCCESS', CAUGHT_UP: 'SUCCESS', QUEUED: 'QUEUED', SKIPPED: 'SKIPPED', REPLACED: 'PARTIAL', MISSED: 'FAILURE' };
const page = 100;

export default async function ledger(main, params, app) {
  const kind = location.pathname.startsWith('/workflows/') ? 'workflows' : 'events';
  const target = await get(`/api/v1/${kind}/${encodeURIComponent(params.id)}`);
  app.setTitle(`Ledger of ${target.name}`);
  const list = h('div', { id: 'ledger' });
  const timeline = h('div', { class: 'panel', id: 'ledger-timeline' });
  const more = h('div');
  let rows = [];
  const load = async () => {
    const next = await get(`/api/v1/${kind}/${target.id}/ledger?limit=${page}&offset=${rows.length}`);
    rows = rows.concat(next);
    fill(timeline, rows.length ? drawTimeline(rows) : h('p', { class: 'muted' }, 'Nothing has fallen due yet.'));
    fill(list, table([
      ['Due', (o) => time(o.scheduledFor)],
      ['Outcome', (o) => h('span', { class: `badge ${outcomeBadge[o.outcome] ?? ''}` }, o.outcome)],
      ['Run', (o) => o.executionId ? h('a', { href: `/executions/${o.executionId}` }, `#${o.executionId}`)
        : o.workflowRunId ? h('a', { href: `/workflows/${target.id}/runs/${o.workflowRunId}` }, `#${o.workflowRunId}`) : ''],
      ['Why', (o) => h('span', { class: 'wrap' }, o.reason ?? '')],
      ['Recorded', (o) => time(o.recordedAt)],
    ], rows, 'No occurrence has fallen due yet.'));
    fill(more, next.length === page ? h('button', { type: 'button', onclick: load }, 'Older occurrences') : null);
  };
  fill(main,
    h('h1', {}, 'Ledger of ', h('a', { href: `/${kind}/${target.id}` }, target.name), ' ', badge(target.status)),
    h('p', { class: 'muted' }, 'Every occurrence of the schedule that fell due, and what became of it. A long downtime shows as one MISSED row that counts the rest.'),
    timeline, h('h2', {}, 'Occurrences'), list, more);
  await load();
}

/** The occurrences on a line of time, oldest on the left, one mark each in its outcome's colour. */
function drawTimeline(rows) {
  const width = 720, height = 70, pad = 16;
  const times = rows.map((o) => new Date(o.scheduledFor).getTime());
  const first = Math.min(...times), last = Math.max(...times);
  const span = Math.max(last - first, 1);
  const x = (t) => pad + ((width - pad * 2) * (t - first)) / span;
  return svg('svg', { class: 'chart ledger', viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `${rows.length} occurrences from ${new Date(first).toLocaleString()} to ${new Date(last).toLocaleString()}` },
  svg('line', { class: 'axis', x1: pad, y1: 34, x2: width - pad, y2: 34 }),
  ...rows.map((o, i) => svg('rect', { class: `mark ${outcomeBadge[o.outcome] ?? ''}`, x: x(times[i]) - 2, y: 22, width: 4, height: 24 },
    svg('title', {}, `${new Date(o.scheduledFor).toLocaleString()}: ${o.outcome}${o.reason ? ' — ' + o.reason : ''}`))),
  svg('text', { x: pad, y: 62 }, new Date(first).toLocaleString()),
  svg('text', { x: width - pad, y: 62, 'text-anchor': 'end' }, new Date(last).toLocaleString()));
}

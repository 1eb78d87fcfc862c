// Events: a list with search and filters (kept in the URL, so a filtered view can be shared),
// and for each event: run now (with input), pause or resume, delete.
import { del, get, patch, post } from './api.js';
import { ago, badge, confirmAction, fill, h, notice, table, time } from './dom.js';
import { runWithInput } from './run-dialog.js';

const filters = [
  ['type', 'Type', ['BASH', 'PYTHON', 'NODEJS', 'HTTP_REQUEST', 'TOOL_ACTION']],
  ['status', 'Status', ['ACTIVE', 'PAUSED', 'DRAFT', 'ARCHIVED']],
  ['runLocation', 'Placement', ['LOCAL', 'CONTAINER', 'REMOTE']],
];

export default async function page(main, _params, app) {
  app.setTitle('Events');
  const query = new URLSearchParams(location.search);
  const message = h('div');
  const list = h('div');
  const search = h('input', { type: 'search', id: 'event-search', placeholder: 'Search names and descriptions', value: query.get('q') ?? '', 'aria-label': 'Search events' });
  const tag = h('select', { id: 'filter-tag', 'aria-label': 'Tag' });
  const selects = filters.map(([name, label, values]) => h('select', { id: `filter-${name}`, 'aria-label': label, 'data-name': name },
    h('option', { value: '' }, `Any ${label.toLowerCase()}`), values.map((v) => h('option', { value: v, selected: query.get(name) === v }, v))));
  let events = [];

  const redraw = () => {
    const wanted = { q: search.value.trim(), tag: tag.value, ...Object.fromEntries(selects.map((s) => [s.dataset.name, s.value])) };
    const params = new URLSearchParams(Object.entries(wanted).filter(([, v]) => v));
    history.replaceState(null, '', `/events${params.size ? '?' + params : ''}`);
    const needle = wanted.q.toLowerCase();
    const shown = events.filter((e) => (!needle || e.name.toLowerCase().includes(needle) || (e.description ?? '').toLowerCase().includes(needle))
      && (!wanted.tag || e.tags.includes(wanted.tag)) && (!wanted.type || e.type === wanted.type)
      && (!wanted.status || e.status === wanted.status) && (!wanted.runLocation || (e.runLocation ?? 'LOCAL') === wanted.runLocation));
    fill(list, table([
      ['Name', (e) => h('a', { href: `/events/${e.id}` }, e.name)],
      ['Type', (e) => e.type],
      ['Status', (e) => badge(e.status)],
      ['Trigger', (e) => e.triggerType === 'SCHEDULE' ? describeSchedule(e.schedule) : e.triggerType],
      ['Placement', (e) => placement(e)],
      ['Last run', (e) => e.lastExecution ? h('span', {}, h('a', { href: `/executions/${e.lastExecution.id}` }, badge(e.lastExecution.status)), ' ', ago(e.lastExecution.finishedAt ?? e.lastExecution.startedAt)) : h('span', { class: 'muted' }, 'never')],
      ['Next fire', (e) => e.nextFireAt ? time(e.nextFireAt) : ''],
      ['', (e) => app.canEdit ? actions(e) : ''],
    ], shown, events.length ? 'No event matches these filters.' : 'No events yet.'));
  };

  const actions = (event) => h('div', { class: 'row' },
    h('button', { type: 'button', onclick: () => runEvent(event, app), 'aria-label': `Run ${event.name} now` }, 'Run'),
    app.mayChange(event) && (event.status === 'ACTIVE' || event.status === 'PAUSED')
      ? h('button', { type: 'button', 'aria-label': `${event.status === 'ACTIVE' ? 'Pause' : 'Resume'} ${event.name}`, onclick: async () => {
        try {
          await patch(`/api/v1/events/${event.id}`, { status: event.status === 'ACTIVE' ? 'PAUSED' : 'ACTIVE' });
          await load();
        } catch (error) { fill(message, notice(error.message)); }
      } }, event.status === 'ACTIVE' ? 'Pause' : 'Resume') : null,
    app.mayChange(event) && h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${event.name}`, onclick: async () => {
      if (!(await confirmAction(`Delete the event "${event.name}" and its runs' history? This cannot be undone.`))) return;
      try {
        await del(`/api/v1/events/${event.id}`);
        await load();
      } catch (error) { fill(message, notice(error.message)); }
    } }, 'Delete'));

  async function load() {
    events = await get('/api/v1/events');
    const tags = [...new Set(events.flatMap((e) => e.tags))].sort();
    const chosen = tag.value || query.get('tag') || '';
    fill(tag, h('option', { value: '' }, 'Any tag'), tags.map((t) => h('option', { value: t, selected: t === chosen }, t)));
    redraw();
  }

  search.addEventListener('input', redraw);
  for (const select of [tag, ...selects]) select.addEventListener('change', redraw);
  fill(main,
    h('div', { class: 'row spread' }, h('h1', {}, 'Events'), app.canEdit ? h('a', { class: 'button primary', href: '/events/new' }, 'New event') : null),
    message,
    h('div', { class: 'filters' }, search, tag, selects),
    list);
  await load();
}

export function placement(event) {
  switch (event.runLocation) {
    case 'CONTAINER': return `container ${event.image ?? '(default image)'}`;
    case 'REMOTE': return `servers ${[...(event.servers ?? []), ...(event.serverTag ? [`tag ${event.serverTag}`] : [])].join(', ')}`;
    default: return 'local';
  }
}

export function describeSchedule(schedule) {
  if (!schedule) return 'SCHEDULE';
  const zone = schedule.timeZone ? ` (${schedule.timeZone})` : '';
  switch (schedule.kind) {
    case 'cron': return `cron ${schedule.cron}${zone}`;
    case 'interval': return `every ${schedule.intervalSeconds} s`;
    case 'once': return `once at ${new Date(schedule.startAt).toLocaleString()}`;
    default: return schedule.kind;
  }
}

/** Asks for an optional input, starts a run of `event`, and opens it. */
export function runEvent(event, app) {
  runWithInput(`Run ${event.name}`, async (body) => `/executions/${(await post(`/api/v1/events/${event.id}/run`, body)).executionId}`, app);
}

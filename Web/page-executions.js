// Runs, newest first, filtered by status or event (in the URL), a page of 50 at a time.
import { get } from './api.js';
import { fill, h, notice } from './dom.js';
import { runsTable } from './page-event.js';

const statuses = ['PENDING', 'RUNNING', 'SUCCESS', 'FAILURE', 'TIMEOUT', 'CANCELLED', 'PARTIAL'];

export default async function page(main, _params, app) {
  app.setTitle('Runs');
  const query = new URLSearchParams(location.search);
  const status = h('select', { id: 'filter-status', 'aria-label': 'Status' },
    h('option', { value: '' }, 'Any status'), statuses.map((s) => h('option', { value: s, selected: query.get('status') === s }, s)));
  const list = h('div');
  const more = h('div');
  let before = null;
  let runs = [];
  const eventNames = new Map((await get('/api/v1/events')).map((e) => [e.id, e.name]));

  async function load(reset) {
    if (reset) { runs = []; before = null; }
    const params = new URLSearchParams({ limit: '50' });
    if (status.value) params.set('status', status.value);
    if (event.value) params.set('eventId', event.value);
    if (before) params.set('before', before);
    try {
      const page = await get(`/api/v1/executions?${params}`);
      runs = runs.concat(page);
      before = page.length === 50 ? page[page.length - 1].id : null;
      fill(list, runsTable(runs, { eventNames }));
      fill(more, before ? h('button', { type: 'button', onclick: () => load(false) }, 'Older runs') : null);
    } catch (error) {
      fill(list, notice(error.message));
    }
  }

  const event = h('select', { id: 'filter-event', 'aria-label': 'Event' },
    h('option', { value: '' }, 'Any event'), [...eventNames].map(([id, name]) => h('option', { value: id, selected: query.get('eventId') === String(id) }, name)));
  const refilter = () => {
    const next = new URLSearchParams();
    if (status.value) next.set('status', status.value);
    if (event.value) next.set('eventId', event.value);
    history.replaceState(null, '', `/executions${next.size ? '?' + next : ''}`);
    load(true);
  };
  status.addEventListener('change', refilter);
  event.addEventListener('change', refilter);
  fill(main, h('h1', {}, 'Runs'), h('div', { class: 'filters' }, status, event), list, more);
  await load(true);
}

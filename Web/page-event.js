// One event: what it is, its actions and its runs; its editor is `event-editor.js` (also for a
// new event, at /events/new).
import { del, get } from './api.js';
import { ago, badge, confirmAction, duration, fill, h, notice, table, time } from './dom.js';
import { describeSchedule, placement, runEvent } from './page-events.js';
import { highlight } from './code-editor.js';
import { eventEditor } from './event-editor.js';

export default async function page(main, params, app) {
  if (params.id === 'new') return eventEditor(main, app, null);
  const event = await get(`/api/v1/events/${encodeURIComponent(params.id)}`);
  if (new URLSearchParams(location.search).has('edit') && app.mayChange(event)) return eventEditor(main, app, event);
  app.setTitle(event.name);
  const message = h('div');
  const runs = await get(`/api/v1/executions?eventId=${event.id}&limit=20`);
  fill(main,
    h('div', { class: 'row spread' },
      h('h1', {}, event.name, ' ', badge(event.status)),
      h('div', { class: 'row' },
        app.canEdit ? h('button', { type: 'button', class: 'primary', onclick: () => runEvent(event, app) }, 'Run now') : null,
        app.mayChange(event) ? [
          h('a', { class: 'button', href: `/events/${event.id}?edit` }, 'Edit'),
          h('button', { type: 'button', class: 'danger', onclick: async () => {
            if (!(await confirmAction(`Delete the event "${event.name}" and its runs' history? This cannot be undone.`))) return;
            try { await del(`/api/v1/events/${event.id}`); app.navigate('/events'); } catch (error) { fill(message, notice(error.message)); }
          } }, 'Delete')] : null)),
    message,
    event.description ? h('p', {}, event.description) : null,
    h('div', { class: 'panel' }, h('dl', { class: 'fields' },
      field('Type', event.type),
      field('Trigger', event.triggerType === 'SCHEDULE' ? describeSchedule(event.schedule) : event.triggerType),
      field('Next fire', event.nextFireAt ? time(event.nextFireAt) : 'none'),
      event.schedule ? field('Ledger', h('a', { href: `/events/${event.id}/ledger` }, 'every occurrence and what became of it')) : null,
      field('Placement', placement(event)),
      field('Timeout', `${event.timeoutValue} ${event.timeoutUnit.toLowerCase()}`),
      field('Retries', String(event.retries)),
      field('Tags', event.tags.join(', ') || '—'),
      field('Runs so far', String(event.executionCount)))),
    event.content ? [h('h2', {}, 'Script'), h('pre', { class: 'code-view', id: 'event-script' }, highlight(event.content, event.type))] : null,
    event.actions?.length ? [h('h2', {}, 'Actions after a run'), h('ul', { id: 'event-actions' }, event.actions.map((a) => h('li', {}, describeAction(a))))] : null,
    h('h2', {}, 'Recent runs'),
    runsTable(runs),
    runs.length === 20 ? h('p', {}, h('a', { href: `/executions?eventId=${event.id}` }, 'All runs of this event')) : null);
}

function describeAction(action) {
  const when = { ON_SUCCESS: 'When it succeeds', ON_FAILURE: 'When it fails', ALWAYS: 'Whatever the end', ON_CONDITION: 'When its script set the condition' }[action.when] ?? action.when;
  switch (action.type) {
    case 'RUN_EVENT': return [`${when}: run `, h('a', { href: `/events/${action.eventId}` }, action.eventName ?? `event #${action.eventId}`), ', with its output as input'];
    case 'RUN_WORKFLOW': return [`${when}: run the workflow `, h('a', { href: `/workflows/${action.workflowId}` }, action.workflowName ?? `#${action.workflowId}`)];
    default: return [`${when}: send `, h('code', {}, action.subject ?? action.message ?? ''), ` through `, h('a', { href: `/tools/${encodeURIComponent(action.tool)}` }, action.tool)];
  }
}

function field(label, value) { return [h('dt', {}, label), h('dd', {}, value)]; }

/** Runs as a table; `eventNames` (id → name) adds a column for the event, for lists of several
 *  events' runs. */
export function runsTable(runs, { eventNames = null } = {}) {
  return table([
    ['Run', (r) => h('a', { href: `/executions/${r.id}` }, `#${r.id}`)],
    ...(eventNames ? [['Event', (r) => h('a', { href: `/events/${r.eventId}` }, eventNames.get(r.eventId) ?? `#${r.eventId}`)]] : []),
    ['Status', (r) => badge(r.status)],
    ['Trigger', (r) => r.trigger],
    ['Started', (r) => ago(r.startedAt ?? r.createdAt)],
    ['Took', (r) => duration(r.startedAt, r.finishedAt)],
    ['Exit', (r) => r.exitCode ?? ''],
  ], runs, 'No runs yet.');
}

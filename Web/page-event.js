// One event: what it is, its runs, and the editor (also for a new event at /events/new).
import { del, get, patch, post } from './api.js';
import { ago, badge, confirmAction, duration, fill, h, notice, table, time } from './dom.js';
import { describeSchedule, placement, runEvent } from './page-events.js';
import { scheduleBuilder } from './schedule-builder.js';

export default async function page(main, params, app) {
  if (params.id === 'new') return editor(main, app, null);
  const event = await get(`/api/v1/events/${encodeURIComponent(params.id)}`);
  if (new URLSearchParams(location.search).has('edit') && app.mayChange(event)) return editor(main, app, event);
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
    event.content ? [h('h2', {}, 'Script'), h('pre', { class: 'log', id: 'event-script' }, event.content)] : null,
    h('h2', {}, 'Recent runs'),
    runsTable(runs),
    runs.length === 20 ? h('p', {}, h('a', { href: `/executions?eventId=${event.id}` }, 'All runs of this event')) : null);
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

const types = ['BASH', 'PYTHON', 'NODEJS', 'HTTP_REQUEST'];
const starters = {
  BASH: 'echo "hello from $(hostname)"\n',
  PYTHON: 'print("hello")\n',
  NODEJS: 'console.log("hello");\n',
};

/** The form for a new event or a change to one; the server checks every field and the problems
 *  it names are shown beside their fields. */
function editor(main, app, event) {
  app.setTitle(event ? `Edit ${event.name}` : 'New event');
  const message = h('div');
  const inputs = {};
  const input = (name, attributes = {}) => (inputs[name] = h(attributes.rows ? 'textarea' : 'input', { id: `f-${name}`, name, ...attributes }));
  const select = (name, values, value) => (inputs[name] = h('select', { id: `f-${name}`, name }, values.map((v) => h('option', { value: v, selected: v === value }, v))));
  const builder = scheduleBuilder(event?.schedule);
  const type = event?.type ?? 'BASH';
  const row = (name, label, control, hint) => h('div', { 'data-field': name },
    h('label', { for: `f-${name}` }, label), control, hint ? h('div', { class: 'muted' }, hint) : null, h('div', { class: 'field-error', id: `e-${name}` }));
  const form = h('form', { class: 'panel', novalidate: true, onsubmit: async (submit) => {
    submit.preventDefault();
    clearErrors(form);
    fill(message);
    let body;
    try { body = collect(inputs, event, builder); } catch (error) { showErrors(form, message, error); return; }
    try {
      const saved = event ? await patch(`/api/v1/events/${event.id}`, body) : await post('/api/v1/events', body);
      app.navigate(`/events/${saved.id}`);
    } catch (error) {
      showErrors(form, message, error);
    }
  } },
  row('name', 'Name', input('name', { value: event?.name ?? '', required: true, maxlength: 255 })),
  row('description', 'Description', input('description', { value: event?.description ?? '' })),
  row('type', 'Type', select('type', types, type)),
  row('content', 'Script', input('content', { rows: 14, spellcheck: false, value: event?.content ?? starters[type] ?? '' })),
  row('status', 'Status', select('status', ['ACTIVE', 'PAUSED', 'DRAFT', 'ARCHIVED'], event?.status ?? 'ACTIVE')),
  row('triggerType', 'Trigger', select('triggerType', ['MANUAL', 'SCHEDULE'], event?.triggerType ?? 'MANUAL')),
  builder.element,
  row('runLocation', 'Placement', select('runLocation', ['LOCAL', 'CONTAINER', 'REMOTE'], event?.runLocation ?? 'LOCAL')),
  row('image', 'Container image', input('image', { value: event?.image ?? '', placeholder: 'the server’s image for the language' })),
  row('servers', 'Servers (REMOTE; names, comma-separated)', input('servers', { value: (event?.servers ?? []).join(', ') })),
  row('serverTag', 'Server tag (REMOTE)', input('serverTag', { value: event?.serverTag ?? '' })),
  row('timeoutValue', 'Timeout', h('div', { class: 'row' }, input('timeoutValue', { type: 'number', min: 1, value: event?.timeoutValue ?? 30 }),
    (inputs.timeoutUnit = h('select', { id: 'f-timeoutUnit', 'aria-label': 'Timeout unit' }, ['SECONDS', 'MINUTES', 'HOURS', 'DAYS'].map((u) => h('option', { value: u, selected: u === (event?.timeoutUnit ?? 'MINUTES') }, u.toLowerCase())))))),
  row('retries', 'Retries', input('retries', { type: 'number', min: 0, max: 10, value: event?.retries ?? 0 })),
  row('tags', 'Tags (comma-separated)', input('tags', { value: (event?.tags ?? []).join(', ') })),
  h('div', { 'data-field': 'shared' }, h('label', { class: 'inline', for: 'f-shared' },
    input('shared', { type: 'checkbox', checked: event?.shared ?? false }), 'Shared: every user sees it, and every user but viewers may run it'),
  h('div', { class: 'field-error', id: 'e-shared' })),
  row('environment', 'Environment (one NAME=value a line)', input('environment', { rows: 3, value: Object.entries(event?.environment ?? {}).map(([k, v]) => `${k}=${v}`).join('\n') })),
  h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit' }, event ? 'Save' : 'Create'),
    h('a', { class: 'button', href: event ? `/events/${event.id}` : '/events' }, 'Cancel')));
  const showSchedule = () => {
    builder.element.hidden = inputs.triggerType.value !== 'SCHEDULE';
    if (!builder.element.hidden) builder.refresh();
  };
  inputs.triggerType.addEventListener('change', showSchedule);
  inputs.type.addEventListener('change', () => {
    if (!event && Object.values(starters).includes(inputs.content.value)) inputs.content.value = starters[inputs.type.value] ?? '';
  });
  showSchedule();
  fill(main, h('h1', {}, event ? `Edit ${event.name}` : 'New event'), message, form);
  inputs.name.focus();
}

/** The request body from the form: only what the user can set here. */
function collect(inputs, event, builder) {
  const number = (name) => Number(inputs[name].value);
  const list = (name) => inputs[name].value.split(',').map((s) => s.trim()).filter(Boolean);
  const body = {
    name: inputs.name.value.trim(),
    description: inputs.description.value,
    type: inputs.type.value,
    content: inputs.content.value,
    status: inputs.status.value,
    triggerType: inputs.triggerType.value,
    runLocation: inputs.runLocation.value,
    timeoutValue: number('timeoutValue'),
    timeoutUnit: inputs.timeoutUnit.value,
    retries: number('retries'),
    tags: list('tags'),
    shared: inputs.shared.checked,
    environment: {},
  };
  const problems = [];
  for (const line of inputs.environment.value.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf('=');
    if (at < 1) problems.push({ field: 'environment', message: `"${line}" is not NAME=value` });
    else body.environment[line.slice(0, at)] = line.slice(at + 1);
  }
  if (problems.length) throw Object.assign(new Error('The form has problems.'), { fields: problems });
  if (body.runLocation === 'CONTAINER') body.image = inputs.image.value.trim();
  else if (event?.image) body.image = '';
  if (body.runLocation === 'REMOTE') {
    body.servers = list('servers');
    body.serverTag = inputs.serverTag.value.trim();
  }
  if (body.triggerType === 'SCHEDULE') body.schedule = builder.value();
  return body;
}

function clearErrors(form) {
  for (const error of form.querySelectorAll('.field-error')) error.textContent = '';
  for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
}

/** Puts each problem the server named beside its field; the rest go above the form. */
function showErrors(form, message, error) {
  const loose = [];
  for (const problem of error.fields ?? []) {
    const slot = form.querySelector(`[id="e-${problem.field}"]`) ?? form.querySelector(`[id="e-${problem.field.split('.')[0]}"]`);
    if (!slot) { loose.push(`${problem.field}: ${problem.message}`); continue; }
    slot.textContent = (slot.textContent ? slot.textContent + '; ' : '') + problem.message;
    const control = slot.parentElement.querySelector('input, select, textarea');
    control?.setAttribute('aria-invalid', 'true');
    control?.setAttribute('aria-describedby', slot.id);
  }
  fill(message, notice([error.message, ...loose].join(' ')));
  form.querySelector('[aria-invalid="true"]')?.focus();
}

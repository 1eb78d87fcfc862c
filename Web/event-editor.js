// The event editor (a new event at /events/new, a change at /events/ID?edit): every field of an
// event, the parts that apply shown as the type and placement are chosen. The server checks
// everything; each problem it names is shown beside its field, and nothing is saved until all are
// fixed.
import { get, patch, post } from './api.js';
import { fill, h, notice } from './dom.js';
import { actionsEditor } from './actions-editor.js';
import { codeEditor } from './code-editor.js';
import { scheduleBuilder } from './schedule-builder.js';

const types = ['BASH', 'PYTHON', 'NODEJS', 'HTTP_REQUEST', 'TOOL_ACTION'];
const scriptTypes = ['BASH', 'PYTHON', 'NODEJS'];
const starters = {
  BASH: 'echo "hello from $(hostname)"\n',
  PYTHON: 'print("hello")\n',
  NODEJS: 'console.log("hello");\n',
};
const limitFields = [['memoryMB', 'Memory (MB)'], ['processes', 'Processes'], ['openFiles', 'Open files'], ['diskMB', 'Disk (MB)'], ['cpus', 'CPUs (containers)']];
const retentionFields = [['runsDays', 'Runs kept (days)'], ['lastRuns', 'Newest runs kept'], ['logsDays', 'Logs kept (days)']];

export async function eventEditor(main, app, event) {
  app.setTitle(event ? `Edit ${event.name}` : 'New event');
  const [events, workflows, tools] = await Promise.all([
    get('/api/v1/events'), get('/api/v1/workflows'), get('/api/v1/tools'),
  ]);
  const message = h('div');
  const inputs = {};
  const input = (name, attributes = {}) => (inputs[name] = h(attributes.rows ? 'textarea' : 'input', { id: `f-${name}`, name, ...attributes }));
  const select = (name, values, value) => (inputs[name] = h('select', { id: `f-${name}`, name },
    values.map((v) => Array.isArray(v) ? h('option', { value: v[0], selected: v[0] === value }, v[1]) : h('option', { value: v, selected: v === value }, v))));
  const row = (name, label, control, hint) => h('div', { 'data-field': name },
    h('label', { for: `f-${name}` }, label), control, hint ? h('div', { class: 'muted' }, hint) : null, h('div', { class: 'field-error', id: `e-${name}` }));
  const check = (name, label, checked) => h('div', { 'data-field': name },
    h('label', { class: 'inline', for: `f-${name}` }, input(name, { type: 'checkbox', checked }), label), h('div', { class: 'field-error', id: `e-${name}` }));
  const lines = (object, separator) => Object.entries(object ?? {}).map(([k, v]) => `${k}${separator}${v}`).join('\n');

  const type = event?.type ?? 'BASH';
  const schedule = scheduleBuilder(event?.schedule);
  const actions = actionsEditor(event?.actions, { events: events.filter((e) => e.id !== event?.id), workflows, tools });
  const script = codeEditor(input('content', { rows: 14, value: event?.content ?? starters[type] ?? '' }), type);
  const http = event?.httpRequest ?? {};
  const toolAction = event?.toolAction ?? {};
  const sections = {
    script: row('content', 'Script', script.element),
    http: h('fieldset', {}, h('legend', {}, 'HTTP request'),
      h('div', { class: 'row' }, row('httpRequest.method', 'Method', select('httpRequest.method', ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'], http.method ?? 'GET')),
        row('httpRequest.url', 'URL', input('httpRequest.url', { value: http.url ?? '', placeholder: 'https://…', size: 60 }))),
      row('httpRequest.headers', 'Headers (one Name: value a line)', input('httpRequest.headers', { rows: 3, value: lines(http.headers, ': ') })),
      row('httpRequest.body', 'Body', input('httpRequest.body', { rows: 4, value: http.body ?? '' }))),
    tool: h('fieldset', {}, h('legend', {}, 'Message'),
      row('toolAction.tool', 'Tool', select('toolAction.tool', tools.map((t) => [t.name, `${t.name} (${t.type})`]), toolAction.tool)),
      row('toolAction.to', 'To (email; comma-separated)', input('toolAction.to', { value: (toolAction.to ?? []).join(', ') })),
      row('toolAction.subject', 'Subject (a template)', input('toolAction.subject', { value: toolAction.subject ?? '' })),
      row('toolAction.message', 'Message (a template: {{event.name}}, {{input.field}}, …)', input('toolAction.message', { rows: 3, value: toolAction.message ?? '' }))),
    container: row('image', 'Container image', input('image', { value: event?.image ?? '', placeholder: 'the server’s image for the language' })),
    remote: h('div', { class: 'row' },
      row('servers', 'Servers (names, comma-separated)', input('servers', { value: (event?.servers ?? []).join(', ') })),
      row('serverTag', 'Or every server with the tag', input('serverTag', { value: event?.serverTag ?? '' }))),
  };
  // 1. The script, request or message, by type; 2. the placement's own fields.
  const showType = () => {
    const chosen = inputs.type.value;
    sections.script.hidden = !scriptTypes.includes(chosen);
    sections.http.hidden = chosen !== 'HTTP_REQUEST';
    sections.tool.hidden = chosen !== 'TOOL_ACTION';
    if (!event && Object.values(starters).includes(inputs.content.value)) inputs.content.value = starters[chosen] ?? '';
    script.setLanguage(chosen);
  };
  const showPlacement = () => {
    sections.container.hidden = inputs.runLocation.value !== 'CONTAINER';
    sections.remote.hidden = inputs.runLocation.value !== 'REMOTE';
  };
  const showSchedule = () => {
    schedule.element.hidden = inputs.triggerType.value !== 'SCHEDULE';
    if (!schedule.element.hidden) schedule.refresh();
  };

  const form = h('form', { class: 'panel', novalidate: true, onsubmit: async (submit) => {
    submit.preventDefault();
    clearErrors(form);
    fill(message);
    let body;
    try { body = collect(); } catch (error) { showErrors(form, message, error); return; }
    try {
      const saved = event ? await patch(`/api/v1/events/${event.id}`, body) : await post('/api/v1/events', body);
      app.navigate(`/events/${saved.id}`);
    } catch (error) {
      showErrors(form, message, error);
    }
  } },
  h('div', { class: 'row' }, row('name', 'Name', input('name', { value: event?.name ?? '', required: true, maxlength: 255 })),
    row('type', 'Type', select('type', types, type)), row('status', 'Status', select('status', ['ACTIVE', 'PAUSED', 'DRAFT', 'ARCHIVED'], event?.status ?? 'ACTIVE'))),
  row('description', 'Description', input('description', { value: event?.description ?? '' })),
  sections.script, sections.http, sections.tool,
  row('triggerType', 'Trigger', select('triggerType', ['MANUAL', 'SCHEDULE'], event?.triggerType ?? 'MANUAL')),
  schedule.element,
  h('fieldset', {}, h('legend', {}, 'Where it runs'),
    row('runLocation', 'Placement', select('runLocation', [['LOCAL', 'this server (sandboxed)'], ['CONTAINER', 'a container'], ['REMOTE', 'servers over SSH']], event?.runLocation ?? 'LOCAL')),
    sections.container, sections.remote,
    check('networkAccess', 'Network access', event?.networkAccess ?? true)),
  h('fieldset', {}, h('legend', {}, 'Limits and retries'),
    h('div', { class: 'row' },
      row('timeoutValue', 'Timeout', h('div', { class: 'row' }, input('timeoutValue', { type: 'number', min: 1, value: event?.timeoutValue ?? 30 }),
        (inputs.timeoutUnit = h('select', { id: 'f-timeoutUnit', 'aria-label': 'Timeout unit' }, ['SECONDS', 'MINUTES', 'HOURS', 'DAYS'].map((u) => h('option', { value: u, selected: u === (event?.timeoutUnit ?? 'MINUTES') }, u.toLowerCase())))))),
      row('retries', 'Retries', input('retries', { type: 'number', min: 0, max: 10, value: event?.retries ?? 0 })),
      row('retryBackoffSeconds', 'Seconds between tries', input('retryBackoffSeconds', { type: 'number', min: 0, max: 3600, value: event?.retryBackoffSeconds ?? 5 })),
      row('maxExecutions', 'Runs at most (0: no end)', input('maxExecutions', { type: 'number', min: 0, value: event?.maxExecutions ?? 0 }))),
    h('div', { class: 'row' }, limitFields.map(([name, label]) => row(`limits.${name}`, label,
      input(`limits.${name}`, { type: 'number', min: 0, step: name === 'cpus' ? 0.01 : 1, value: event?.limits?.[name] ?? '', placeholder: 'server default' })))),
    row('logCapBytes', 'Log kept at most (bytes)', input('logCapBytes', { type: 'number', min: 1024, value: event?.logCapBytes ?? 1048576 }))),
  h('fieldset', {}, h('legend', {}, 'History kept (0: no limit)'),
    h('div', { class: 'row' }, retentionFields.map(([name, label]) => row(`retention.${name}`, label,
      input(`retention.${name}`, { type: 'number', min: 0, value: event?.retention?.[name] ?? '', placeholder: 'server default' }))))),
  h('fieldset', {}, h('legend', {}, 'Environment'),
    row('environment', 'Variables set for the script (one NAME=value a line)', input('environment', { rows: 3, value: lines(event?.environment, '=') })),
    row('variables', 'Your variables and secrets as environment variables (one NAME=KEY a line)', input('variables', { rows: 2, value: lines(event?.variables, '=') })),
    app.user.role === 'admin' ? row('readOnlyPaths', 'Host paths shown read-only in the sandbox (one a line; administrators)', input('readOnlyPaths', { rows: 2, value: (event?.readOnlyPaths ?? []).join('\n') })) : null),
  actions.element,
  h('div', { class: 'row' }, row('tags', 'Tags (comma-separated)', input('tags', { value: (event?.tags ?? []).join(', ') }))),
  check('shared', 'Shared: every user sees it, and every user but viewers may run it', event?.shared ?? false),
  check('resetCounterOnActive', 'Count runs from zero again when set ACTIVE', event?.resetCounterOnActive ?? false),
  h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit' }, event ? 'Save' : 'Create'),
    h('a', { class: 'button', href: event ? `/events/${event.id}` : '/events' }, 'Cancel')));

  /** The request body: every field the form holds, for the parts that apply. */
  const collect = () => {
    const number = (name) => Number(inputs[name].value);
    const list = (name) => inputs[name].value.split(',').map((s) => s.trim()).filter(Boolean);
    const problems = [];
    const pairs = (name, separator, field) => {
      const result = {};
      for (const line of inputs[name].value.split('\n').map((l) => l.trim()).filter(Boolean)) {
        const at = line.indexOf(separator);
        if (at < 1) problems.push({ field, message: `"${line}" is not NAME${separator.trim()}value` });
        else result[line.slice(0, at).trim()] = line.slice(at + separator.length).trim();
      }
      return result;
    };
    const chosen = inputs.type.value;
    const body = {
      name: inputs.name.value.trim(), description: inputs.description.value, type: chosen, status: inputs.status.value,
      triggerType: inputs.triggerType.value, runLocation: inputs.runLocation.value, networkAccess: inputs.networkAccess.checked,
      timeoutValue: number('timeoutValue'), timeoutUnit: inputs.timeoutUnit.value, retries: number('retries'),
      retryBackoffSeconds: number('retryBackoffSeconds'), maxExecutions: number('maxExecutions'), logCapBytes: number('logCapBytes'),
      tags: list('tags'), shared: inputs.shared.checked, resetCounterOnActive: inputs.resetCounterOnActive.checked,
      environment: pairs('environment', '=', 'environment'), variables: pairs('variables', '=', 'variables'),
      actions: actions.value(),
    };
    if (scriptTypes.includes(chosen)) body.content = inputs.content.value;
    if (chosen === 'HTTP_REQUEST') {
      body.httpRequest = { method: inputs['httpRequest.method'].value, url: inputs['httpRequest.url'].value.trim(), headers: pairs('httpRequest.headers', ':', 'httpRequest.headers') };
      if (inputs['httpRequest.body'].value) body.httpRequest.body = inputs['httpRequest.body'].value;
    }
    if (chosen === 'TOOL_ACTION') {
      body.toolAction = { tool: inputs['toolAction.tool'].value, message: inputs['toolAction.message'].value };
      if (inputs['toolAction.subject'].value) body.toolAction.subject = inputs['toolAction.subject'].value;
      const to = list('toolAction.to');
      if (to.length) body.toolAction.to = to;
    }
    if (body.runLocation === 'CONTAINER') body.image = inputs.image.value.trim();
    else if (event?.image) body.image = '';
    if (body.runLocation === 'REMOTE') {
      body.servers = list('servers');
      body.serverTag = inputs.serverTag.value.trim();
    }
    const limits = Object.fromEntries(limitFields.map(([name]) => [name, inputs[`limits.${name}`].value]).filter(([, v]) => v !== '').map(([k, v]) => [k, Number(v)]));
    if (Object.keys(limits).length || event?.limits) body.limits = limits;
    const retention = Object.fromEntries(retentionFields.map(([name]) => [name, inputs[`retention.${name}`].value]).filter(([, v]) => v !== '').map(([k, v]) => [k, Number(v)]));
    if (Object.keys(retention).length || event?.retention) body.retention = retention;
    if (inputs.readOnlyPaths) body.readOnlyPaths = inputs.readOnlyPaths.value.split('\n').map((p) => p.trim()).filter(Boolean);
    if (body.triggerType === 'SCHEDULE') body.schedule = schedule.value();
    if (problems.length) throw Object.assign(new Error('The form has problems.'), { fields: problems });
    return body;
  };

  inputs.type.addEventListener('change', showType);
  inputs.runLocation.addEventListener('change', showPlacement);
  inputs.triggerType.addEventListener('change', showSchedule);
  showType();
  showPlacement();
  showSchedule();
  fill(main, h('h1', {}, event ? `Edit ${event.name}` : 'New event'), message, form);
  inputs.name.focus();
}

function clearErrors(form) {
  for (const error of form.querySelectorAll('.field-error')) error.textContent = '';
  for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
}

/** Puts each problem the server named beside its field (or the nearest one it belongs to); the
 *  rest go above the form. */
function showErrors(form, message, error) {
  const loose = [];
  for (const problem of error.fields ?? []) {
    const path = problem.field;
    const candidates = [path, path.replace(/\.[^.]*$/, ''), path.split('.')[0], path.replace(/\[\d+\].*$/, '')];
    const slot = candidates.map((c) => form.querySelector(`[id="e-${c}"]`)).find(Boolean);
    if (!slot) { loose.push(`${path}: ${problem.message}`); continue; }
    slot.textContent = (slot.textContent ? slot.textContent + '; ' : '') + (slot.id === `e-${path}` ? problem.message : `${path}: ${problem.message}`);
    const control = slot.parentElement.querySelector('input, select, textarea');
    control?.setAttribute('aria-invalid', 'true');
    control?.setAttribute('aria-describedby', slot.id);
  }
  fill(message, notice([error.message, ...loose].join(' ')));
  form.querySelector('[aria-invalid="true"]')?.focus();
}

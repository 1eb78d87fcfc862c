// One workflow: its graph, runs and next fires; and the canvas that edits it (also for a new one
// at /workflows/new): add event nodes, drag from a node's handle to another node to connect them,
// choose each connection's `when` and each node's `join`. Saving is checked by the server, whose
// problems are shown on the nodes and connections they name.
import { del, get, patch, post } from './api.js';
import { ago, badge, confirmAction, fill, h, notice, table, time } from './dom.js';
import { drawGraph, nodeHeight, nodeWidth, whenLabels } from './graph.js';
import { describeSchedule } from './page-events.js';
import { runWithInput } from './run-dialog.js';
import { scheduleBuilder } from './schedule-builder.js';

export default async function page(main, params, app) {
  const events = await get('/api/v1/events');
  const eventNames = new Map(events.map((e) => [e.id, e.name]));
  if (params.id === 'new') return editor(main, app, null, events);
  const workflow = await get(`/api/v1/workflows/${encodeURIComponent(params.id)}`);
  if (new URLSearchParams(location.search).has('edit') && app.mayChange(workflow)) return editor(main, app, workflow, events);
  app.setTitle(workflow.name);
  const message = h('div');
  const [runs, next] = await Promise.all([
    get(`/api/v1/workflows/${workflow.id}/runs?limit=20`),
    get(`/api/v1/workflows/${workflow.id}/next`).catch(() => null),
  ]);
  const { picture } = drawGraph({
    nodes: workflow.nodes, connections: workflow.connections,
    decorate: (node) => ({ subtitle: eventNames.get(node.eventId) ?? `event #${node.eventId}` }),
  });
  fill(main,
    h('div', { class: 'row spread' },
      h('h1', {}, workflow.name, ' ', badge(workflow.status)),
      h('div', { class: 'row' },
        app.mayChange(workflow) ? [
          h('button', { type: 'button', class: 'primary', onclick: () => runWithInput(`Run ${workflow.name}`, async (body) => {
            const started = await post(`/api/v1/workflows/${workflow.id}/run`, body);
            return `/workflows/${workflow.id}/runs/${started.runId}`;
          }, app) }, 'Run now'),
          h('a', { class: 'button', href: `/workflows/${workflow.id}?edit` }, 'Edit'),
          workflow.status === 'ACTIVE' || workflow.status === 'PAUSED' ? h('button', { type: 'button', onclick: async () => {
            try { await post(`/api/v1/workflows/${workflow.id}/${workflow.status === 'ACTIVE' ? 'pause' : 'resume'}`); app.navigate(location.pathname, { replace: true }); } catch (error) { fill(message, notice(error.message)); }
          } }, workflow.status === 'ACTIVE' ? 'Pause' : 'Resume') : null,
          h('button', { type: 'button', class: 'danger', onclick: async () => {
            if (!(await confirmAction(`Delete the workflow "${workflow.name}" and its runs? Its events stay.`))) return;
            try { await del(`/api/v1/workflows/${workflow.id}`); app.navigate('/workflows'); } catch (error) { fill(message, notice(error.message)); }
          } }, 'Delete')] : null)),
    message,
    workflow.description ? h('p', {}, workflow.description) : null,
    h('div', { class: 'panel' }, h('dl', { class: 'fields' },
      [h('dt', {}, 'Trigger'), h('dd', {}, workflow.trigger === 'SCHEDULE' ? describeSchedule(workflow.schedule) : workflow.trigger)],
      [h('dt', {}, 'Overlap'), h('dd', {}, workflow.overlap ?? 'skip')],
      workflow.schedule ? [h('dt', {}, 'Ledger'), h('dd', {}, h('a', { href: `/workflows/${workflow.id}/ledger` }, 'every occurrence and what became of it'))] : null,
      next?.fires?.length ? [h('dt', {}, 'Next fires'), h('dd', {}, next.fires.map((f, i) => [i ? ', ' : '', time(f.fireAt ?? f)]))] : null)),
    h('h2', {}, 'Graph'),
    h('div', { class: 'canvas-wrap' }, picture),
    h('h2', {}, 'Recent runs'),
    table([
      ['Run', (r) => h('a', { href: `/workflows/${workflow.id}/runs/${r.id}` }, `#${r.id}`)],
      ['Status', (r) => badge(r.status)],
      ['Trigger', (r) => r.trigger],
      ['Started', (r) => ago(r.createdAt)],
      ['Nodes', (r) => r.nodes.map((n) => n.state === 'ENDED' ? n.status : n.state).join(' · ')],
    ], runs, 'No runs yet.'));
}

const statuses = ['ACTIVE', 'PAUSED', 'DRAFT', 'ARCHIVED'];
const triggers = ['MANUAL', 'SCHEDULE', 'WEBHOOK'];
const overlaps = ['skip', 'queue', 'replace', 'allow'];
const whens = Object.keys(whenLabels);

/** The canvas and the workflow's fields. */
function editor(main, app, workflow, events) {
  app.setTitle(workflow ? `Edit ${workflow.name}` : 'New workflow');
  const eventNames = new Map(events.map((e) => [e.id, e.name]));
  const runnable = events.filter((e) => e.status !== 'ARCHIVED');
  const state = {
    nodes: (workflow?.nodes ?? []).map((n) => ({ ...n })),
    connections: (workflow?.connections ?? []).map((c) => ({ ...c })),
    selected: null,
    problems: null,
  };
  const message = h('div');
  const problemList = h('div', { id: 'workflow-problems' });
  const canvas = h('div', { class: 'canvas-wrap', id: 'canvas' });
  const side = h('div', { class: 'panel side', id: 'side-panel' });
  const field = (name, label, control) => h('div', {}, h('label', { for: `w-${name}` }, label), control, h('div', { class: 'field-error', id: `we-${name}` }));
  const name = h('input', { id: 'w-name', value: workflow?.name ?? '', required: true });
  const description = h('input', { id: 'w-description', value: workflow?.description ?? '' });
  const choose = (id, values, value) => h('select', { id }, values.map((v) => h('option', { value: v, selected: v === value }, v)));
  const status = choose('w-status', statuses, workflow?.status ?? 'ACTIVE');
  const trigger = choose('w-trigger', triggers, workflow?.trigger ?? 'MANUAL');
  const overlap = choose('w-overlap', overlaps, workflow?.overlap ?? 'skip');
  const builder = scheduleBuilder(workflow?.schedule, { withOverlap: false });
  const scheduleFields = builder.element;
  const eventChoice = h('select', { id: 'add-event', 'aria-label': 'Event for the new node' },
    runnable.map((e) => h('option', { value: e.id }, e.name)));

  const redraw = () => {
    const { picture, positions } = drawGraph({
      nodes: state.nodes, connections: state.connections, selected: state.selected, problems: state.problems, handles: true,
      decorate: (node) => ({ subtitle: `${eventNames.get(Number(node.eventId)) ?? 'no event'}${node.join === 'all' ? ' · join all' : ''}` }),
      onNode: (key) => { state.selected = { kind: 'node', key }; redraw(); },
      onEdge: (index) => { state.selected = { kind: 'edge', index }; redraw(); },
    });
    enableDragging(picture, positions);
    fill(canvas, state.nodes.length ? picture : h('p', { class: 'muted' }, 'Add a node to start: choose an event above.'));
    drawSide();
  };

  /** Dragging from a node's handle to another node connects them (`ON_SUCCESS`, then choose). */
  const enableDragging = (picture, positions) => {
    picture.addEventListener('pointerdown', (down) => {
      const handle = down.target.closest('circle.handle');
      if (!handle) return;
      down.preventDefault();
      const from = handle.dataset.key;
      const start = positions.get(from);
      const line = picture.appendChild(document.createElementNS('http://www.w3.org/2000/svg', 'path'));
      line.setAttribute('class', 'drag-line');
      const toSvg = (event) => {
        const point = picture.createSVGPoint();
        point.x = event.clientX;
        point.y = event.clientY;
        return point.matrixTransform(picture.getScreenCTM().inverse());
      };
      const move = (event) => {
        const p = toSvg(event);
        line.setAttribute('d', `M ${start.x + nodeWidth} ${start.y + nodeHeight / 2} L ${p.x} ${p.y}`);
      };
      const up = (event) => {
        window.removeEventListener('pointermove', move);
        window.removeEventListener('pointerup', up);
        line.remove();
        const target = document.elementFromPoint(event.clientX, event.clientY)?.closest('g.node');
        if (target && target.dataset.key !== from) connect(from, target.dataset.key, 'ON_SUCCESS');
      };
      window.addEventListener('pointermove', move);
      window.addEventListener('pointerup', up);
    });
  };

  const connect = (from, to, when) => {
    if (state.connections.some((c) => c.from === from && c.to === to)) {
      state.selected = { kind: 'edge', index: state.connections.findIndex((c) => c.from === from && c.to === to) };
    } else {
      state.connections.push({ from, to, when });
      state.selected = { kind: 'edge', index: state.connections.length - 1 };
    }
    redraw();
  };

  const addNode = () => {
    const event = runnable.find((e) => String(e.id) === eventChoice.value);
    if (!event) return;
    let key = event.name.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[^a-z]+/, '') || 'node';
    for (let n = 2; state.nodes.some((node) => node.key === key); n++) key = `${key.replace(/-\d+$/, '')}-${n}`;
    state.nodes.push({ key, eventId: event.id });
    state.selected = { kind: 'node', key };
    redraw();
  };

  const drawSide = () => {
    const selected = state.selected;
    if (selected?.kind === 'node') {
      const node = state.nodes.find((n) => n.key === selected.key);
      if (node) return fill(side, nodePanel(node));
    }
    if (selected?.kind === 'edge' && state.connections[selected.index]) return fill(side, edgePanel(selected.index));
    fill(side, h('p', { class: 'muted' }, 'Select a node or a connection to change it. Drag from a node’s round handle to another node to connect them.'));
  };

  const nodePanel = (node) => {
    const key = h('input', { id: 'node-key', value: node.key });
    key.addEventListener('change', () => {
      const old = node.key;
      node.key = key.value.trim();
      for (const c of state.connections) { if (c.from === old) c.from = node.key; if (c.to === old) c.to = node.key; }
      state.selected = { kind: 'node', key: node.key };
      redraw();
    });
    const event = h('select', { id: 'node-event' }, runnable.map((e) => h('option', { value: e.id, selected: Number(node.eventId) === e.id }, e.name)));
    event.addEventListener('change', () => { node.eventId = Number(event.value); delete node.eventName; redraw(); });
    const join = choose('node-join', ['any', 'all'], node.join ?? 'any');
    join.addEventListener('change', () => { node.join = join.value; redraw(); });
    const input = h('textarea', { id: 'node-input', rows: 3, value: node.input === undefined || node.input === null ? '' : JSON.stringify(node.input) });
    const inputError = h('div', { class: 'field-error' });
    input.addEventListener('change', () => {
      if (!input.value.trim()) { delete node.input; fill(inputError); return; }
      try { node.input = JSON.parse(input.value); fill(inputError); } catch (error) { fill(inputError, `Not JSON: ${error.message}`); }
    });
    const number = (id, field) => {
      const control = h('input', { id, type: 'number', min: 0, value: node[field] ?? '' });
      control.addEventListener('change', () => { if (control.value === '') delete node[field]; else node[field] = Number(control.value); });
      return control;
    };
    const text = (id, field) => {
      const control = h('input', { id, value: node[field] ?? '' });
      control.addEventListener('change', () => { if (control.value.trim() === '') delete node[field]; else node[field] = control.value.trim(); });
      return control;
    };
    const placement = h('select', { id: 'node-location' }, [['', 'as the event says'], ['LOCAL', 'this server'], ['CONTAINER', 'a container'], ['REMOTE', 'servers over SSH']]
      .map(([v, label]) => h('option', { value: v, selected: (node.runLocation ?? '') === v }, label)));
    placement.addEventListener('change', () => { if (placement.value) node.runLocation = placement.value; else delete node.runLocation; });
    const servers = h('input', { id: 'node-servers', value: (node.servers ?? []).join(', ') });
    servers.addEventListener('change', () => {
      const names = servers.value.split(',').map((n) => n.trim()).filter(Boolean);
      if (names.length) node.servers = names; else delete node.servers;
    });
    const others = state.nodes.filter((n) => n.key !== node.key);
    const target = h('select', { id: 'connect-to', 'aria-label': 'Connect to' }, others.map((n) => h('option', { value: n.key }, n.key)));
    const when = choose('connect-when', whens, 'ON_SUCCESS');
    return [
      h('h2', {}, `Node ${node.key}`),
      h('label', { for: 'node-key' }, 'Key'), key,
      h('label', { for: 'node-event' }, 'Event'), event,
      h('label', { for: 'node-join' }, 'Runs when (join)'), join,
      h('div', { class: 'muted' }, 'any: one connection into it holds; all: every one holds'),
      h('label', { for: 'node-input' }, 'Input merged over what arrives (JSON, optional)'), input, inputError,
      h('label', { for: 'node-location' }, 'Runs (over the event’s placement)'), placement,
      h('label', { for: 'node-image' }, 'Container image (CONTAINER)'), text('node-image', 'image'),
      h('label', { for: 'node-servers' }, 'Servers (REMOTE; names, comma-separated)'), servers,
      h('label', { for: 'node-server-tag' }, 'Or every server with the tag (REMOTE)'), text('node-server-tag', 'serverTag'),
      h('label', { for: 'node-timeout' }, 'Timeout in seconds (over the event’s)'), number('node-timeout', 'timeoutSeconds'),
      h('label', { for: 'node-retries' }, 'Retries (over the event’s)'), number('node-retries', 'retries'),
      others.length ? [h('label', { for: 'connect-to' }, 'Connect to'), h('div', { class: 'row' }, target, when,
        h('button', { type: 'button', onclick: () => connect(node.key, target.value, when.value) }, 'Connect'))] : null,
      h('p', {}, h('button', { type: 'button', class: 'danger', onclick: () => {
        state.nodes = state.nodes.filter((n) => n !== node);
        state.connections = state.connections.filter((c) => c.from !== node.key && c.to !== node.key);
        state.selected = null;
        redraw();
      } }, 'Remove node')),
    ];
  };

  const edgePanel = (index) => {
    const connection = state.connections[index];
    const when = choose('edge-when', whens, connection.when);
    when.addEventListener('change', () => { connection.when = when.value; redraw(); });
    return [
      h('h2', {}, `${connection.from} → ${connection.to}`),
      h('label', { for: 'edge-when' }, 'When'), when,
      h('div', { class: 'muted' }, 'ON_SUCCESS: it succeeded; ON_FAILURE: it failed, timed out or partly failed; ON_CONDITION: its script set the condition; ALWAYS: however it ended'),
      h('p', {}, h('button', { type: 'button', class: 'danger', onclick: () => {
        state.connections.splice(index, 1);
        state.selected = null;
        redraw();
      } }, 'Remove connection')),
    ];
  };

  const save = async () => {
    fill(message);
    fill(problemList);
    for (const slot of main.querySelectorAll('.field-error[id^="we-"]')) slot.textContent = '';
    const body = {
      name: name.value.trim(), description: description.value, status: status.value, trigger: trigger.value, overlap: overlap.value,
      nodes: state.nodes.map(({ eventName, ...node }) => node),
      connections: state.connections,
    };
    if (trigger.value === 'SCHEDULE') body.schedule = builder.value();
    try {
      const saved = workflow ? await patch(`/api/v1/workflows/${workflow.id}`, body) : await post('/api/v1/workflows', body);
      app.navigate(`/workflows/${saved.id}`);
    } catch (error) {
      showProblems(error);
    }
  };

  /** Each problem on what it names: a node, a connection, or a field of the workflow. */
  const showProblems = (error) => {
    const problems = { nodes: new Set(), connections: new Set() };
    const items = [];
    for (const { field, message: text } of error.fields ?? []) {
      const node = /^nodes\[(\d+)\]/.exec(field);
      const connection = /^connections\[(\d+)\]/.exec(field);
      if (node && state.nodes[Number(node[1])]) {
        problems.nodes.add(state.nodes[Number(node[1])].key);
        items.push(`node ${state.nodes[Number(node[1])].key}: ${text}`);
      } else if (connection && state.connections[Number(connection[1])]) {
        const c = state.connections[Number(connection[1])];
        problems.connections.add(Number(connection[1]));
        items.push(`connection ${c.from} → ${c.to}: ${text}`);
      } else {
        const slot = main.querySelector(`[id="we-${field}"]`) ?? main.querySelector(`[id="e-${field}"]`);
        if (slot) slot.textContent = text;
        items.push(`${field}: ${text}`);
      }
    }
    state.problems = problems;
    fill(message, notice(items.length ? `Nothing was saved: ${items.length === 1 ? 'one problem' : `${items.length} problems`}, shown below and on the graph.` : error.message));
    fill(problemList, items.length ? h('ul', { class: 'problems' }, items.map((item) => h('li', {}, item))) : null);
    redraw();
  };

  const showSchedule = () => {
    scheduleFields.hidden = trigger.value !== 'SCHEDULE';
    if (!scheduleFields.hidden) builder.refresh();
  };
  trigger.addEventListener('change', showSchedule);
  showSchedule();
  fill(main,
    h('h1', {}, workflow ? `Edit ${workflow.name}` : 'New workflow'),
    message,
    h('div', { class: 'panel' },
      h('div', { class: 'row' }, field('name', 'Name', name), field('description', 'Description', description)),
      h('div', { class: 'row' }, field('status', 'Status', status), field('trigger', 'Trigger', trigger), field('overlap', 'While a run is going, a new start…', overlap)),
      scheduleFields),
    h('div', { class: 'row spread' }, h('h2', {}, 'Graph'),
      h('div', { class: 'row' }, eventChoice, h('button', { type: 'button', id: 'add-node', onclick: addNode, disabled: runnable.length === 0 }, 'Add node'))),
    runnable.length === 0 ? notice('There are no events to run yet: create one first.') : null,
    problemList,
    h('div', { class: 'editor-grid' }, canvas, side),
    h('div', { class: 'row' }, h('button', { type: 'button', class: 'primary', id: 'save-workflow', onclick: save }, workflow ? 'Save' : 'Create'),
      h('a', { class: 'button', href: workflow ? `/workflows/${workflow.id}` : '/workflows' }, 'Cancel')));
  redraw();
  name.focus();
}


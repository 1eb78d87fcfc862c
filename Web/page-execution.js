// One run: its record, and its log, followed live over the WebSocket while it runs.
import { get, post, socket } from './api.js';
import { badge, bytes, duration, fill, h, notice, table, time } from './dom.js';

/** More lines than this are not kept on the page (the download has them all). */
const maxShownLines = 100000;

export default async function page(main, params, app) {
  const id = params.id;
  let run = await get(`/api/v1/executions/${encodeURIComponent(id)}`);
  const event = await get(`/api/v1/events/${run.eventId}`).catch(() => null);
  const eventName = event?.name ?? `#${run.eventId}`;
  app.setTitle(`Run #${run.id}`);
  const message = h('div');
  const record = h('div', { class: 'panel' });
  const cancel = h('button', { type: 'button', class: 'danger', hidden: run.status !== 'RUNNING' && run.status !== 'PENDING' || !app.canEdit, onclick: async () => {
    cancel.disabled = true;
    try { run = await post(`/api/v1/executions/${run.id}/cancel`); } catch (error) { fill(message, notice(error.message)); cancel.disabled = false; }
  } }, 'Cancel run');
  const viewer = logViewer(run);
  const extras = h('div');
  const drawRecord = () => {
    fill(record, h('dl', { class: 'fields' },
      item('Status', h('span', { id: 'run-status' }, badge(run.status))),
      item('Event', h('a', { href: `/events/${run.eventId}` }, eventName)),
      item('Trigger', run.trigger),
      event?.retries ? item('Attempt', `${run.attempt} of up to ${event.retries + 1}`) : null,
      run.parentExecutionId ? item('Started by', h('a', { href: `/executions/${run.parentExecutionId}` }, `run #${run.parentExecutionId}`)) : null,
      run.workflowRunId ? item('Workflow', `node ${run.workflowNode ?? '?'} of workflow run #${run.workflowRunId}`) : null,
      item('Started', run.startedAt ? time(run.startedAt) : 'not yet'),
      item('Took', duration(run.startedAt, run.finishedAt)),
      run.exitCode != null ? item('Exit code', String(run.exitCode)) : null,
      run.error ? item('Error', `${run.errorCode ? run.errorCode + ': ' : ''}${run.error}`) : null,
      run.server ? item('Server', run.server) : null,
      run.input !== undefined && run.input !== null ? item('Input', h('code', {}, JSON.stringify(run.input))) : null,
      run.outputValue !== undefined && run.outputValue !== null ? item('Output', h('code', {}, JSON.stringify(run.outputValue))) : null,
      run.condition != null ? item('Condition', String(run.condition)) : null,
      item('Log', `${bytes(run.logBytes)}${run.logDroppedBytes ? `, ${bytes(run.logDroppedBytes)} dropped over the cap` : ''}${run.logsRemovedAt ? `, removed by the retention policy on ${new Date(run.logsRemovedAt).toLocaleString()}` : ''}`)));
    cancel.hidden = !(run.status === 'RUNNING' || run.status === 'PENDING') || !app.canEdit;
    fill(extras,
      run.parts?.length ? [h('h2', {}, 'On each server'), table([
        ['Server', (p) => p.server], ['Status', (p) => badge(p.status)], ['Exit', (p) => p.exitCode ?? ''], ['Error', (p) => p.error ?? ''],
      ], run.parts)] : null,
      run.actions?.length ? [h('h2', {}, 'Actions fired'), table([
        ['When', (a) => a.when],
        ['Then', (a) => a.type],
        ['Status', (a) => a.status],
        ['Started', (a) => a.executionId ? h('a', { href: `/executions/${a.executionId}` }, `run #${a.executionId}`)
          : a.workflowRunId ? h('a', { href: `/workflows/${a.targetWorkflowId}/runs/${a.workflowRunId}` }, `workflow run #${a.workflowRunId}`) : ''],
        ['Why it failed', (a) => a.error ?? ''],
      ], run.actions)] : null,
      run.deliveries?.length ? [h('h2', {}, 'Messages sent'), table([
        ['Tool', (d) => h('a', { href: `/tools/${encodeURIComponent(d.toolName)}` }, d.toolName)],
        ['Status', (d) => badge(d.status === 'DELIVERED' ? 'SUCCESS' : d.status === 'FAILED' ? 'FAILURE' : 'PENDING')],
        ['Tries', (d) => String(d.attempts)],
        ['Answer', (d) => d.error ?? (d.answerStatus ? String(d.answerStatus) : '')],
      ], run.deliveries)] : null);
  };
  drawRecord();
  fill(main,
    h('div', { class: 'row spread' }, h('h1', {}, `Run #${run.id}`), cancel),
    message, record, h('h2', {}, 'Log'), viewer.element, extras);
  const stop = viewer.follow(async (status) => {
    run = await get(`/api/v1/executions/${run.id}`).catch(() => ({ ...run, status }));
    drawRecord();
  });
  return stop;
}

function item(label, value) { return [h('dt', {}, label), h('dd', {}, value)]; }

/** The log: the stored lines read in pages, then the rest followed over the WebSocket while
 *  the run goes. Lines go into chunks of 500 that the browser lays out only when shown
 *  (`content-visibility`), and at most a few thousand are added a frame, so a script printing
 *  thousands of lines a second does not freeze the page. Stderr marked, ANSI colours, search,
 *  follow, download. */
function logViewer(run) {
  const lines = [];
  const pending = [];
  const box = h('div', { class: 'log', id: 'log', role: 'log', 'aria-live': 'off', tabindex: '0', 'aria-label': 'Run log' });
  const state = h('span', { class: 'muted', id: 'log-state' }, 'loading…');
  const search = h('input', { type: 'search', id: 'log-search', placeholder: 'Search the log', 'aria-label': 'Search the log' });
  const hits = h('span', { class: 'muted', id: 'log-hits' });
  const followBox = h('input', { type: 'checkbox', id: 'log-follow', checked: true });
  let scheduled = false;
  let chunk = null;
  let shown = 0;
  let needle = '';
  /** Whether every line of the log has arrived (the run has ended); then, once all are shown, a
   *  performance mark tells the browser tests how long that took. */
  let complete = false;

  const flush = () => {
    scheduled = false;
    const batch = pending.splice(0, linesPerFrame);
    for (const line of batch) {
      if (!chunk || chunk.childElementCount >= chunkLines) { chunk = h('div', { class: 'chunk' }); box.append(chunk); }
      chunk.append(lineElement(line, needle));
    }
    shown += batch.length;
    for (let first = box.querySelector('.chunk'); shown > maxShownLines && first !== chunk; first = box.querySelector('.chunk')) {
      shown -= first.childElementCount;
      first.remove();
      if (!box.querySelector('.trimmed')) box.prepend(h('div', { class: 'note trimmed' }, 'Earlier lines are not shown here; the download has them all.'));
    }
    if (followBox.checked) box.scrollTop = box.scrollHeight;
    if (needle && batch.length) countHits();
    if (pending.length) schedule();
    else if (complete && !performance.getEntriesByName('cronium:log-shown').length) performance.mark('cronium:log-shown');
  };
  const schedule = () => { if (!scheduled) { scheduled = true; requestAnimationFrame(flush); } };
  const add = (line) => { lines.push(line); pending.push(line); schedule(); };
  const countHits = () => {
    hits.textContent = needle ? `${lines.filter((l) => l.text.toLowerCase().includes(needle)).length} matching lines` : '';
  };
  search.addEventListener('input', () => {
    needle = search.value.toLowerCase();
    for (const element of box.querySelectorAll('.line')) element.classList.toggle('hit', !!needle && element.textContent.toLowerCase().includes(needle));
    countHits();
    box.querySelector('.hit')?.scrollIntoView({ block: 'center' });
  });
  // Scrolling up stops following; back at the bottom, it follows again.
  box.addEventListener('scroll', () => { followBox.checked = box.scrollTop + box.clientHeight >= box.scrollHeight - 4; });
  const download = h('button', { type: 'button', onclick: () => {
    const text = lines.map((l) => l.text).join('\n') + '\n';
    const link = h('a', { href: URL.createObjectURL(new Blob([text], { type: 'text/plain' })), download: `run-${run.id}.log` });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  } }, 'Download');

  const element = h('div', {},
    h('div', { class: 'log-tools' }, search, hits, h('label', { class: 'inline', for: 'log-follow' }, followBox, 'Follow'), download, state),
    box);

  const ended = (status) => {
    complete = true;
    schedule();
    requestAnimationFrame(() => {
      if (lines.length === 0) box.append(h('div', { class: 'note' }, 'The run printed nothing.'));
      if (run.logDroppedBytes) box.append(h('div', { class: 'note' }, `${bytes(run.logDroppedBytes)} dropped: the log reached its cap.`));
      state.textContent = `ended ${status}`;
    });
  };

  /** Reads the stored lines, then follows the rest; `onFinished(status)` runs once a run that was
   *  going has ended. Returns what stops it. */
  const follow = (onFinished) => {
    let ws = null;
    let stopped = false;
    (async () => {
      let after = 0;
      for (;;) {
        const page = await get(`/api/v1/executions/${run.id}/logs?after=${after}&limit=10000`);
        for (const line of page.lines) add(line);
        after = page.nextAfter;
        if (stopped) return;
        if (page.complete) { ended(run.status); return; }
        if (page.lines.length < 10000) break;
      }
      ws = socket(`/api/v1/executions/${run.id}/logs/stream?after=${after}&batch=true`);
      let finished = false;
      ws.addEventListener('open', () => { ws.send('start'); state.textContent = 'following'; });
      ws.addEventListener('message', (message) => {
        const data = JSON.parse(message.data);
        if (data.type === 'lines') for (const line of data.lines) add(line);
        else if (data.type === 'finished') {
          finished = true;
          onFinished(data.status).then(() => ended(data.status));
        } else if (data.detail) {
          state.textContent = '';
          element.prepend(notice(data.detail));
        }
      });
      ws.addEventListener('close', () => { if (!finished && !stopped) state.textContent = 'disconnected; reload to follow again'; });
    })().catch((error) => { state.textContent = ''; element.prepend(notice(error.message)); });
    return () => { stopped = true; ws?.close(); };
  };
  return { element, follow };
}

/** Lines kept together; the browser skips laying out a chunk that is out of view. */
const chunkLines = 500;
/** Lines added in one frame at most: a large stored log is shown over a few frames. */
const linesPerFrame = 1000;

function lineElement(line, needle) {
  const element = h('div', { class: needle && line.text.toLowerCase().includes(needle) ? `line ${line.stream} hit` : `line ${line.stream}`, 'data-n': line.seq });
  const text = ansi(line.text);
  if (typeof text === 'string') element.textContent = text;
  else element.append(...text);
  return element;
}

/** Text with ANSI colour and style codes (SGR) turned into spans; other escapes are dropped. */
export function ansi(text) {
  if (!text.includes('\u001b')) return text;
  const out = [];
  let classes = [];
  const pattern = /\u001b\[([0-9;]*)m|\u001b\[[0-9;?]*[A-Za-z]/g;
  let last = 0;
  for (let match; (match = pattern.exec(text));) {
    if (match.index > last) out.push(classes.length ? h('span', { class: classes.join(' ') }, text.slice(last, match.index)) : text.slice(last, match.index));
    last = pattern.lastIndex;
    if (match[1] === undefined) continue;
    for (const code of (match[1] || '0').split(';').map(Number)) {
      if (code === 0) classes = [];
      else if (code === 1) classes.push('ansi-b');
      else if (code === 3) classes.push('ansi-i');
      else if (code === 4) classes.push('ansi-u');
      else if (code === 22) classes = classes.filter((c) => c !== 'ansi-b');
      else if (code === 39) classes = classes.filter((c) => !/^ansi-\d+$/.test(c));
      else if ((code >= 30 && code <= 37) || (code >= 90 && code <= 97)) classes = classes.filter((c) => !/^ansi-\d+$/.test(c)).concat(`ansi-${code}`);
    }
  }
  if (last < text.length) out.push(classes.length ? h('span', { class: classes.join(' ') }, text.slice(last)) : text.slice(last));
  return out;
}

// Small helpers to build the page: elements from data, never HTML strings (so nothing a user
// wrote can become markup), and the formats every page shows.

/** An element: `h('a', {href: '/x', class: 'button'}, 'text', child)`. Attributes starting with
 *  `on` are listeners; `null`, `undefined` and `false` attributes and children are left out. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    // A textarea's (and a select's) value is a property only; an input's attribute would be its default.
    else if (name === 'value') element.value = value;
    else if (name in element && typeof value !== 'string') element[name] = value;
    else element.setAttribute(name, value === true ? '' : value);
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces what `element` holds. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A status word as the API spells it, as a coloured badge. */
export function badge(status) {
  return status ? h('span', { class: `badge ${status}` }, status) : '';
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** A time in the browser's zone, with the exact UTC instant on hover. */
export function time(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return h('time', { datetime: iso, title: iso }, dateTime.format(date));
}

/** How long ago, in words ("3 min ago"), for lists. */
export function ago(iso) {
  if (!iso) return '';
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  const text = seconds < 60 ? `${Math.max(seconds, 0)} s ago`
    : seconds < 3600 ? `${Math.round(seconds / 60)} min ago`
    : seconds < 86400 ? `${Math.round(seconds / 3600)} h ago`
    : `${Math.round(seconds / 86400)} d ago`;
  return h('time', { datetime: iso, title: iso }, text);
}

/** A duration between two times, or from `start` to now while it runs. */
export function duration(start, end) {
  if (!start) return '';
  const ms = (end ? new Date(end) : new Date()).getTime() - new Date(start).getTime();
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60000);
  return minutes < 60 ? `${minutes} min ${Math.round((ms % 60000) / 1000)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function bytes(count) {
  if (count < 1024) return `${count} B`;
  if (count < 1 << 20) return `${(count / 1024).toFixed(1)} KiB`;
  return `${(count / (1 << 20)).toFixed(1)} MiB`;
}

/** A table: `columns` are [heading, cell(row)] pairs; `empty` is shown when there are no rows. */
export function table(columns, rows, empty = 'Nothing here yet.') {
  if (rows.length === 0) return h('p', { class: 'muted' }, empty);
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('thead', {}, h('tr', {}, columns.map(([heading]) => h('th', { scope: 'col' }, heading)))),
      h('tbody', {}, rows.map((row) => h('tr', {}, columns.map(([, cell]) => h('td', {}, cell(row))))))));
}

/** Asks before something that cannot be undone; resolves to true when confirmed. */
export function confirmAction(question, confirmLabel = 'Delete') {
  return new Promise((resolve) => {
    const dialog = h('dialog', { 'aria-labelledby': 'confirm-question' },
      h('p', { id: 'confirm-question' }, question),
      h('form', { method: 'dialog', class: 'row' },
        h('button', { value: 'cancel', autofocus: true }, 'Cancel'),
        h('button', { value: 'confirm', class: 'danger' }, confirmLabel)));
    dialog.addEventListener('close', () => { dialog.remove(); resolve(dialog.returnValue === 'confirm'); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A message above a form or list: an error (with `role=alert`, so screen readers say it) or news. */
export function notice(text, kind = 'error') {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** An SVG element (charts, the workflow canvas). */
export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) element.setAttribute(name, value);
  }
  append(element, children);
  return element;
}

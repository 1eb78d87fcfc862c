// Your variables and secrets: scripts read them with their helpers, events map them into their
// environment. A secret's value is write-only here: it can be replaced, never shown.
import { del, get, put } from './api.js';
import { confirmAction, fill, h, notice, table, time } from './dom.js';

export default async function page(main, _params, app) {
  app.setTitle('Variables');
  const message = h('div');
  const list = h('div');
  const key = h('input', { id: 'v-key', required: true, autocomplete: 'off' });
  const value = h('textarea', { id: 'v-value', rows: 2, spellcheck: false });
  const secret = h('input', { id: 'v-secret', type: 'checkbox' });
  const description = h('input', { id: 'v-description' });
  const draw = async () => fill(list, table([
    ['Key', (v) => h('code', {}, v.key)],
    ['Value', (v) => v.secret ? h('span', { class: 'muted' }, 'secret (write-only)') : h('code', {}, v.value ?? '')],
    ['Description', (v) => v.description ?? ''],
    ['Changed', (v) => time(v.updatedAt)],
    ['', (v) => app.canEdit ? h('div', { class: 'row' },
      h('button', { type: 'button', 'aria-label': `Change ${v.key}`, onclick: () => {
        key.value = v.key;
        value.value = v.secret ? '' : (v.value ?? '');
        value.placeholder = v.secret ? 'the new value (the old one is not shown)' : '';
        secret.checked = v.secret;
        description.value = v.description ?? '';
        value.focus();
      } }, 'Change'),
      h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${v.key}`, onclick: async () => {
        if (!(await confirmAction(`Delete the variable ${v.key}? Events that map it stop working until it is set again.`))) return;
        try { await del(`/api/v1/variables/${encodeURIComponent(v.key)}`); await draw(); } catch (error) { fill(message, notice(error.message)); }
      } }, 'Delete')) : ''],
  ], await get('/api/v1/variables'), 'No variables yet.'));
  const form = h('form', { class: 'panel', onsubmit: async (event) => {
    event.preventDefault();
    try {
      const body = { secret: secret.checked, description: description.value };
      // A secret's value left empty keeps the stored one (the form never holds it).
      if (!(secret.checked && value.value === '')) body.value = value.value;
      await put(`/api/v1/variables/${encodeURIComponent(key.value.trim())}`, body);
      fill(message, notice(`Saved ${key.value.trim()}.`, 'ok'));
      form.reset();
      value.placeholder = '';
      await draw();
    } catch (error) {
      fill(message, notice(error.fields?.length ? error.fields.map((f) => `${f.field} ${f.message}`).join('; ') : error.message));
    }
  } },
  h('h2', {}, 'Set a variable'),
  h('label', { for: 'v-key' }, 'Key'), key,
  h('label', { for: 'v-value' }, 'Value'), value,
  h('label', { class: 'inline', for: 'v-secret' }, secret, 'Secret: encrypted at rest, masked in logs, never shown again'),
  h('label', { for: 'v-description' }, 'Description'), description,
  h('p', {}, h('button', { type: 'submit', class: 'primary' }, 'Save')));
  fill(main, h('h1', {}, 'Variables and secrets'), message, list, app.canEdit ? form : null);
  await draw();
}

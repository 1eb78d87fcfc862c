// "Run now" with an optional JSON input, for events and workflows alike.
import { fill, h, notice } from './dom.js';

/** Asks for the input, then `start(body)` (which answers the page to open) and opens it. */
export function runWithInput(title, start, app) {
  const input = h('textarea', { id: 'run-input', rows: 6, placeholder: '{"key": "value"} (optional)' });
  const error = h('div');
  const dialog = h('dialog', { 'aria-labelledby': 'run-title' },
    h('form', { method: 'dialog', onsubmit: async (submit) => {
      if (submit.submitter?.value !== 'run') return;
      submit.preventDefault();
      let body = {};
      if (input.value.trim()) {
        try { body = { input: JSON.parse(input.value) }; } catch (parse) { fill(error, notice(`The input is not JSON: ${parse.message}`)); return; }
      }
      try {
        const next = await start(body);
        dialog.close();
        app.navigate(next);
      } catch (problem) { fill(error, notice(problem.message)); }
    } },
    h('h2', { id: 'run-title' }, title),
    error,
    h('label', { for: 'run-input' }, 'Input (JSON; a script reads it with its input helper)'), input,
    h('div', { class: 'row' }, h('button', { value: 'cancel' }, 'Cancel'), h('button', { value: 'run', class: 'primary' }, 'Run now'))));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  input.focus();
}

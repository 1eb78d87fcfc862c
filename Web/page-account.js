// The signed-in user's own settings: their password, and their API tokens (for the CLI and
// scripts; a new token's secret is shown once).
import { del, get, post } from './api.js';
import { ago, confirmAction, fill, h, notice, table, time } from './dom.js';

export default async function page(main, _params, app) {
  app.setTitle('Account');
  const passwordMessage = h('div');
  const current = h('input', { id: 'current-password', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const passwordForm = h('form', { class: 'panel narrow', onsubmit: async (event) => {
    event.preventDefault();
    try {
      await post('/api/v1/me/password', { currentPassword: current.value, newPassword: next.value });
      passwordForm.reset();
      fill(passwordMessage, notice('Password changed. Your other sessions have ended.', 'ok'));
    } catch (error) {
      fill(passwordMessage, notice(error.fields?.map((f) => `${f.field === 'currentPassword' ? 'Current password' : 'New password'} ${f.message}.`).join(' ') || error.message));
    }
  } },
  passwordMessage,
  h('label', { for: 'current-password' }, 'Current password'), current,
  h('label', { for: 'new-password' }, 'New password (at least 8 characters)'), next,
  h('p', {}, h('button', { type: 'submit', class: 'primary' }, 'Change password')));

  const tokensMessage = h('div');
  const tokens = h('div');
  const name = h('input', { id: 'token-name', required: true, maxlength: 100, placeholder: 'laptop, ci, …' });
  const drawTokens = async () => {
    const list = await get('/api/v1/tokens');
    fill(tokens, table([
      ['Name', (t) => t.name],
      ['Starts with', (t) => h('code', {}, t.prefix)],
      ['Created', (t) => time(t.createdAt)],
      ['Last used', (t) => t.lastUsedAt ? ago(t.lastUsedAt) : 'never'],
      ['', (t) => t.revokedAt ? h('span', { class: 'muted' }, 'revoked') : h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${t.name}`, onclick: async () => {
        if (!(await confirmAction(`Revoke the token "${t.name}"? Whatever uses it stops working at once.`, 'Revoke'))) return;
        try { await del(`/api/v1/tokens/${t.id}`); await drawTokens(); } catch (error) { fill(tokensMessage, notice(error.message)); }
      } }, 'Revoke')],
    ], list, 'No API tokens.'));
  };
  const tokenForm = h('form', { class: 'row', onsubmit: async (event) => {
    event.preventDefault();
    try {
      const created = await post('/api/v1/tokens', { name: name.value.trim() });
      tokenForm.reset();
      fill(tokensMessage, h('div', { class: 'notice ok', role: 'status' },
        h('p', {}, `The token "${created.token.name}" (shown this once; copy it now):`),
        h('p', { class: 'secret', id: 'new-token' }, created.secret),
        h('p', { class: 'muted' }, 'Use it with ', h('code', {}, 'cronium login --with-token'), ' or as ', h('code', {}, 'Authorization: Bearer …'), '.')));
      await drawTokens();
    } catch (error) {
      fill(tokensMessage, notice(error.message));
    }
  } }, h('label', { for: 'token-name', class: 'inline' }, 'New token named', name), h('button', { type: 'submit' }, 'Create token'));

  fill(main,
    h('h1', {}, `${app.user.username} (${app.user.role})`),
    h('h2', {}, 'Password'), passwordForm,
    h('h2', {}, 'API tokens'), tokensMessage, app.canEdit ? tokenForm : null, tokens);
  await drawTokens();
}

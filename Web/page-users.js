// Users and their roles (administrators only): the list, and a new user with a password chosen
// or generated (shown once).
import { get, post } from './api.js';
import { fill, h, notice, table, time } from './dom.js';

export default async function page(main, _params, app) {
  app.setTitle('Users');
  if (app.user.role !== 'admin') {
    fill(main, h('h1', {}, 'Users'), notice('Only administrators manage users.'));
    return;
  }
  const message = h('div');
  const list = h('div');
  const name = h('input', { id: 'u-name', required: true, maxlength: 64, autocomplete: 'off' });
  const role = h('select', { id: 'u-role' }, ['user', 'viewer', 'admin'].map((r) => h('option', { value: r }, r)));
  const password = h('input', { id: 'u-password', type: 'password', autocomplete: 'new-password', placeholder: 'empty: generate one' });
  const draw = async () => fill(list, table([
    ['User', (u) => u.username], ['Role', (u) => u.role], ['Since', (u) => time(u.createdAt)],
  ], await get('/api/v1/users')));
  const form = h('form', { class: 'panel', onsubmit: async (event) => {
    event.preventDefault();
    try {
      const body = { username: name.value.trim(), role: role.value };
      if (password.value) body.password = password.value;
      const created = await post('/api/v1/users', body);
      form.reset();
      fill(message, h('div', { class: 'notice ok', role: 'status' },
        `Created ${created.user.username} (${created.user.role}).`,
        created.password ? [' Their password, shown this once: ', h('span', { class: 'secret', id: 'new-password-shown' }, created.password)] : ''));
      await draw();
    } catch (error) {
      fill(message, notice(error.fields?.length ? error.fields.map((f) => `${f.field} ${f.message}`).join('; ') : error.message));
    }
  } },
  h('h2', {}, 'New user'),
  h('div', { class: 'row' },
    h('div', {}, h('label', { for: 'u-name' }, 'User name'), name),
    h('div', {}, h('label', { for: 'u-role' }, 'Role'), role),
    h('div', {}, h('label', { for: 'u-password' }, 'Password (8 characters or more)'), password)),
  h('p', { class: 'muted' }, 'admin: everything; user: their own events, workflows, servers, tools and variables; viewer: sees shared events and their runs, changes nothing.'),
  h('p', {}, h('button', { type: 'submit', class: 'primary' }, 'Create user')));
  fill(main, h('h1', {}, 'Users'), message, list, form);
  await draw();
}

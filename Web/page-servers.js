// Servers that events run on over SSH: the list with each one's connection state, and adding
// one, in two steps: the host's key is fetched and its fingerprint shown, to compare with the
// host's own (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`), before anything is saved.
import { get, post } from './api.js';
import { badge, fill, h, notice, table, time } from './dom.js';

export default async function page(main, _params, app) {
  app.setTitle('Servers');
  const servers = await get('/api/v1/servers');
  const adding = h('div');
  fill(main,
    h('div', { class: 'row spread' }, h('h1', {}, 'Servers'),
      app.canEdit ? h('button', { type: 'button', class: 'primary', id: 'add-server', onclick: () => fill(adding, addForm(app)) }, 'Add a server') : null),
    adding,
    table([
      ['Name', (s) => h('a', { href: `/servers/${encodeURIComponent(s.name)}` }, s.name)],
      ['Address', (s) => `${s.username}@${s.host}:${s.port}`],
      ['Tags', (s) => s.tags.join(', ')],
      ['Host key', (s) => s.hostKeyMismatch ? badge('CHANGED') : s.hostKeys.length ? 'pinned' : badge('PENDING')],
      ['Connection', (s) => connection(s)],
    ], servers, 'No servers yet. Add one to run events on it over SSH.'));
}

/** The breaker's state in words: what a run would meet now. */
export function connection(server) {
  const state = server.connection;
  if (!state) return h('span', { class: 'muted' }, 'not connected yet');
  if (state.breaker === 'OPEN') return h('span', {}, badge('FAILURE'), ` breaker open after ${state.consecutiveFailures} failures`, state.retryAt ? [', tries again at ', time(state.retryAt)] : '');
  if (state.breaker === 'HALF_OPEN') return h('span', {}, badge('PARTIAL'), ' trying again');
  return h('span', {}, badge('SUCCESS'), state.connected ? ' connected' : ' ready');
}

/** Step one: where and how to log in; step two: the key's fingerprint, to confirm. */
function addForm(app) {
  const message = h('div');
  const inputs = {};
  const field = (name, label, attributes = {}) => h('div', {},
    h('label', { for: `s-${name}` }, label),
    (inputs[name] = h(attributes.rows ? 'textarea' : 'input', { id: `s-${name}`, ...attributes })),
    h('div', { class: 'field-error', id: `se-${name}` }));
  const method = h('select', { id: 's-auth' }, h('option', { value: 'password' }, 'a password'), h('option', { value: 'key' }, 'a private key'));
  const password = field('password', 'Password', { type: 'password', autocomplete: 'off' });
  const key = field('privateKey', 'Private key (OpenSSH format; stored encrypted, never shown again)', { rows: 5, spellcheck: false });
  const passphrase = field('passphrase', 'Its passphrase, if any', { type: 'password', autocomplete: 'off' });
  const showMethod = () => {
    password.hidden = method.value !== 'password';
    key.hidden = passphrase.hidden = method.value !== 'key';
  };
  method.addEventListener('change', showMethod);
  const confirmation = h('div');
  const form = h('form', { class: 'panel', onsubmit: async (event) => {
    event.preventDefault();
    fill(message);
    fill(confirmation);
    for (const slot of form.querySelectorAll('.field-error')) slot.textContent = '';
    const port = Number(inputs.port.value || 22);
    try {
      const scan = await post('/api/v1/servers/scan', { host: inputs.host.value.trim(), port });
      fill(confirmation, h('div', { class: 'notice', role: 'status' },
        h('p', {}, `${scan.host}:${scan.port} offers this ${scan.hostKey.type} key:`),
        h('p', { class: 'secret', id: 'offered-fingerprint' }, scan.hostKey.fingerprint),
        h('p', { class: 'muted' }, 'Compare it with the host’s own, from ', h('code', {}, 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub'),
          ' on the host or your provider’s console. Only a key with this fingerprint will be trusted.'),
        h('div', { class: 'row' },
          h('button', { type: 'button', class: 'primary', id: 'confirm-host-key', onclick: () => save(scan.hostKey.fingerprint) }, 'It matches: add the server'),
          h('button', { type: 'button', onclick: () => fill(confirmation) }, 'Cancel'))));
      document.getElementById('confirm-host-key').focus();
    } catch (error) {
      fill(message, notice(error.message));
    }
  } },
  h('h2', {}, 'Add a server'), message,
  h('div', { class: 'row' }, field('name', 'Name', { required: true }), field('host', 'Host', { required: true }), field('port', 'Port', { type: 'number', value: 22, min: 1, max: 65535 })),
  h('div', { class: 'row' }, field('username', 'User name', { required: true }), h('div', {}, h('label', { for: 's-auth' }, 'Log in with'), method)),
  password, key, passphrase,
  field('tags', 'Tags (comma-separated, to run an event on every server with one)'),
  h('p', {}, h('button', { type: 'submit' }, 'Fetch the host key')),
  confirmation);

  const save = async (fingerprint) => {
    const body = {
      name: inputs.name.value.trim(), host: inputs.host.value.trim(), port: Number(inputs.port.value || 22), username: inputs.username.value.trim(),
      tags: inputs.tags.value.split(',').map((t) => t.trim()).filter(Boolean), acceptHostKey: fingerprint,
    };
    if (method.value === 'password') body.password = inputs.password.value;
    else {
      body.privateKey = inputs.privateKey.value;
      if (inputs.passphrase.value) body.passphrase = inputs.passphrase.value;
    }
    try {
      const server = await post('/api/v1/servers', body);
      app.navigate(`/servers/${encodeURIComponent(server.name)}`);
    } catch (error) {
      fill(confirmation);
      for (const problem of error.fields ?? []) {
        const slot = form.querySelector(`[id="se-${problem.field}"]`);
        if (slot) slot.textContent = problem.message;
      }
      fill(message, notice(error.message));
    }
  };
  showMethod();
  setTimeout(() => inputs.name.focus());
  return form;
}

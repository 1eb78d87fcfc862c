// Tools that send messages: the list, and adding one (a chat channel's webhook, a webhook of
// yours, or an SMTP server). Credentials go in and are never shown again.
import { get, post } from './api.js';
import { fill, h, notice, table } from './dom.js';

const types = ['SLACK', 'DISCORD', 'TEAMS', 'WEBHOOK', 'EMAIL'];

export default async function page(main, _params, app) {
  app.setTitle('Tools');
  const tools = await get('/api/v1/tools');
  const adding = h('div');
  fill(main,
    h('div', { class: 'row spread' }, h('h1', {}, 'Tools'),
      app.canEdit ? h('button', { type: 'button', class: 'primary', id: 'add-tool', onclick: () => fill(adding, addForm(app)) }, 'Add a tool') : null),
    adding,
    table([
      ['Name', (t) => h('a', { href: `/tools/${encodeURIComponent(t.name)}` }, t.name)],
      ['Type', (t) => t.type],
      ['Sends to', (t) => t.email ? `${t.email.host}:${t.email.port} as ${t.email.from}` : t.urlHost ?? ''],
      ['Shared', (t) => t.shared ? 'yes' : 'no'],
    ], tools, 'No tools yet. Add one to send messages from events, actions and scripts.'));
}

function addForm(app) {
  const message = h('div');
  const inputs = {};
  const field = (name, label, attributes = {}) => h('div', { 'data-for': name },
    h('label', { for: `t-${name}` }, label),
    (inputs[name] = h(attributes.options ? 'select' : 'input', { id: `t-${name}`, ...attributes, options: null },
      ...(attributes.options ?? []).map((o) => h('option', { value: o }, o)))),
    h('div', { class: 'field-error', id: `te-${name}` }));
  const http = h('div', {},
    field('url', 'Webhook URL (a credential: stored encrypted, shown as its host only)', { autocomplete: 'off' }),
    h('div', { class: 'webhook-only' },
      field('method', 'Method', { options: ['POST', 'PUT', 'PATCH'] }),
      field('signingSecret', 'Signing secret (optional: each message gets an HMAC-SHA256 signature)', { type: 'password', autocomplete: 'off' })));
  const email = h('div', {},
    h('div', { class: 'row' }, field('host', 'SMTP host'), field('port', 'Port', { type: 'number', value: 587 }),
      field('security', 'Security', { options: ['STARTTLS', 'TLS', 'NONE'] })),
    h('div', { class: 'row' }, field('authentication', 'Login', { options: ['PLAIN', 'LOGIN', 'none'] }), field('username', 'User name', { autocomplete: 'off' }),
      field('password', 'Password', { type: 'password', autocomplete: 'off' })),
    field('from', 'From (an address, or "Name <address>")'));
  const type = h('select', { id: 't-type' }, types.map((t) => h('option', { value: t }, t)));
  const show = () => {
    http.hidden = type.value === 'EMAIL';
    email.hidden = type.value !== 'EMAIL';
    http.querySelector('.webhook-only').hidden = type.value !== 'WEBHOOK';
  };
  type.addEventListener('change', show);
  const form = h('form', { class: 'panel', onsubmit: async (event) => {
    event.preventDefault();
    fill(message);
    for (const slot of form.querySelectorAll('.field-error')) slot.textContent = '';
    const body = { name: inputs.name.value.trim(), type: type.value };
    if (type.value === 'EMAIL') {
      Object.assign(body, { host: inputs.host.value.trim(), port: Number(inputs.port.value), security: inputs.security.value, from: inputs.from.value.trim() });
      if (inputs.authentication.value !== 'none') {
        Object.assign(body, { authentication: inputs.authentication.value, username: inputs.username.value, password: inputs.password.value });
      }
    } else {
      body.url = inputs.url.value.trim();
      if (type.value === 'WEBHOOK') {
        body.method = inputs.method.value;
        if (inputs.signingSecret.value) body.signingSecret = inputs.signingSecret.value;
      }
    }
    try {
      const tool = await post('/api/v1/tools', body);
      app.navigate(`/tools/${encodeURIComponent(tool.name)}`);
    } catch (error) {
      const loose = [];
      for (const problem of error.fields ?? []) {
        const slot = form.querySelector(`[id="te-${problem.field.replace(/^email\./, '')}"]`);
        if (slot) slot.textContent = problem.message; else loose.push(`${problem.field}: ${problem.message}`);
      }
      fill(message, notice([error.message, ...loose].join(' ')));
    }
  } },
  h('h2', {}, 'Add a tool'), message,
  h('div', { class: 'row' }, field('name', 'Name', { required: true }), h('div', {}, h('label', { for: 't-type' }, 'Type'), type)),
  http, email,
  h('p', {}, h('button', { type: 'submit', class: 'primary' }, 'Add the tool')));
  show();
  setTimeout(() => inputs.name.focus());
  return form;
}

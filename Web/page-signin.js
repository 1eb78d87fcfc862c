// Sign in with a user name and password; the server sets the session cookie.
import { signIn } from './api.js';
import { fill, h, notice } from './dom.js';

export default function page(main, _params, app) {
  app.setTitle('Sign in');
  const message = h('div');
  const username = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { class: 'primary', type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'narrow panel', onsubmit: async (event) => {
    event.preventDefault();
    submit.disabled = true;
    fill(message);
    try {
      await signIn(username.value.trim(), password.value);
      app.navigate(safeNext(), { replace: true });
    } catch (error) {
      fill(message, notice(error.message));
      password.select();
    } finally {
      submit.disabled = false;
    }
  } },
  h('h1', {}, 'Sign in to Cronium'),
  message,
  h('label', { for: 'username' }, 'User name'), username,
  h('label', { for: 'password' }, 'Password'), password,
  h('p', {}, submit),
  h('p', { class: 'muted' },
    'First start? ', h('code', {}, 'cronium serve'),
    ' printed the password of the user ', h('code', {}, 'admin'),
    ' once, when it created the data directory, and wrote an API token to ',
    h('code', {}, 'initial-admin-token'), ' there.'));
  fill(main, form);
  username.focus();
}

/** Where to go after signing in: the page that asked, if it is one of ours. */
function safeNext() {
  const next = new URLSearchParams(location.search).get('next');
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/sign-in') ? next : '/';
}

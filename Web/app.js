// The shell: who is signed in, the bar of pages, and the router that draws a page for each URL.
// Pages are modules loaded when first shown, so the first load stays small.
import { currentSession, onSignedOut, signOut } from './api.js';
import { fill, h, notice } from './dom.js';

/** URL patterns and their pages; `:name` matches one path segment. */
const routes = [
  ['/sign-in', () => import('./page-signin.js'), { public: true }],
  ['/', () => import('./page-dashboard.js')],
  ['/events', () => import('./page-events.js')],
  ['/events/:id', () => import('./page-event.js')],
  ['/events/:id/ledger', () => import('./page-ledger.js')],
  ['/executions', () => import('./page-executions.js')],
  ['/executions/:id', () => import('./page-execution.js')],
  ['/workflows', () => import('./page-workflows.js')],
  ['/workflows/:id', () => import('./page-workflow.js')],
  ['/workflows/:id/runs/:run', () => import('./page-workflow-run.js')],
  ['/workflows/:id/ledger', () => import('./page-ledger.js')],
  ['/servers', () => import('./page-servers.js')],
  ['/servers/:id', () => import('./page-server.js')],
  ['/variables', () => import('./page-variables.js')],
  ['/images', () => import('./page-images.js')],
  ['/tools', () => import('./page-tools.js')],
  ['/tools/:id', () => import('./page-tool.js')],
  ['/users', () => import('./page-users.js')],
  ['/account', () => import('./page-account.js')],
];

/** The pages in the bar, in order (with the role a page is for, when only one may use it). */
const menu = [
  ['/', 'Dashboard'],
  ['/events', 'Events'],
  ['/executions', 'Runs'],
  ['/workflows', 'Workflows'],
  ['/servers', 'Servers'],
  ['/images', 'Images'],
  ['/tools', 'Tools'],
  ['/variables', 'Variables'],
  ['/users', 'Users', 'admin'],
];

const main = document.getElementById('main');
const top = document.getElementById('top');
let cleanup = null;
let user = null;

/** What every page gets: the user, whether they may change things, and a way to move on. */
const app = {
  get user() { return user; },
  /** Whether the user may create things and run what they see (every role but viewer). */
  get canEdit() { return user?.role === 'admin' || user?.role === 'user'; },
  /** Whether the user may change or delete `item` (an event or a workflow): admins any, users their own. */
  mayChange(item) { return user?.role === 'admin' || (user?.role === 'user' && item.ownerId === user.id); },
  navigate,
  setTitle(title) { document.title = title ? `${title} · Cronium` : 'Cronium'; },
};

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

function match(path) {
  const asked = path.split('/').filter(Boolean);
  for (const [pattern, load, options] of routes) {
    const parts = pattern.split('/').filter(Boolean);
    if (parts.length !== asked.length) continue;
    const params = {};
    if (parts.every((part, i) => part.startsWith(':') ? (params[part.slice(1)] = decodeURIComponent(asked[i]), true) : part === asked[i])) {
      return { load, params, options: options ?? {} };
    }
  }
  return null;
}

async function render() {
  if (cleanup) { cleanup(); cleanup = null; }
  const path = location.pathname;
  const route = match(path);
  if (!route?.options.public) {
    const session = await currentSession();
    if (!session) {
      const back = path === '/' ? '' : `?next=${encodeURIComponent(path + location.search)}`;
      history.replaceState(null, '', `/sign-in${back}`);
      return render();
    }
    user = session.user;
  }
  drawBar(route ? path : null);
  if (!route) {
    app.setTitle('Not found');
    fill(main, h('h1', {}, 'Not found'), h('p', {}, 'There is no page at this address. ', h('a', { href: '/' }, 'Go to the dashboard.')));
    return;
  }
  try {
    const page = await route.load();
    const result = await page.default(main, route.params, app);
    if (typeof result === 'function') cleanup = result;
  } catch (error) {
    // A link to something that is not there (or not yours, or not an id) is "not found".
    const missing = error.status === 404 || error.status === 400;
    app.setTitle(missing ? 'Not found' : 'Error');
    fill(main, h('h1', {}, missing ? 'Not found' : 'Something went wrong'), notice(error.message),
      missing ? h('p', {}, h('a', { href: '/' }, 'Go to the dashboard.')) : null);
  }
  // The browser tests time a page's load to here.
  performance.mark('cronium:page-ready');
  // Keyboard and screen-reader users start at the new page, unless it chose a field to start in.
  if (!main.contains(document.activeElement)) main.focus({ preventScroll: true });
}

function drawBar(path) {
  if (!user || path === '/sign-in') { top.hidden = true; return; }
  top.hidden = false;
  const current = path ? '/' + (path.split('/')[1] ?? '') : null;
  fill(top,
    h('a', { class: 'brand', href: '/' }, h('img', { src: document.querySelector('link[rel=icon]').href, alt: '', width: 22, height: 22 }), 'Cronium'),
    h('nav', { 'aria-label': 'Pages' }, h('ul', {}, menu.filter(([, , role]) => !role || user.role === role).map(([href, label]) =>
      h('li', {}, h('a', { href, 'aria-current': current === href ? 'page' : null }, label))))),
    h('div', { class: 'who' },
      h('a', { href: '/account', title: 'Your password and API tokens' }, `${user.username} (${user.role})`),
      h('button', { type: 'button', onclick: async () => { await signOut().catch(() => {}); user = null; navigate('/sign-in'); } }, 'Sign out')));
}

// Links inside the app change the page without a reload; the back button goes back.
document.addEventListener('click', (event) => {
  const link = event.target.closest('a[href]');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || link.target || link.hasAttribute('download') || url.pathname.startsWith('/api/')) return;
  event.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);
onSignedOut(() => {
  user = null;
  if (location.pathname !== '/sign-in') navigate(`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
});
render();

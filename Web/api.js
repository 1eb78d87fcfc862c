// The one way the pages talk to the server: the same /api/v1 as the CLI, signed in with the
// session cookie, every write carrying the session's CSRF token.

/** A refusal from the API: its problem document, with the fields it names. */
export class Problem extends Error {
  constructor(status, body) {
    super(body?.detail ?? `the server answered ${status}`);
    this.status = status;
    this.code = body?.code ?? 'HTTP_' + status;
    /** `[{field, message}]` for invalid input, else empty. */
    this.fields = body?.errors ?? [];
  }
}

let session = null;
const signedOutListeners = [];

/** The signed-in user and their CSRF token, or null; asked of the server once per page load. */
export async function currentSession() {
  if (session) return session;
  const answer = await request('GET', '/api/v1/auth/session', undefined, { quiet: true });
  session = answer.user ? answer : null;
  return session;
}

export function onSignedOut(listener) { signedOutListeners.push(listener); }

export async function signIn(username, password) {
  session = await request('POST', '/api/v1/auth/login', { username, password }, { quiet: true });
  return session;
}

export async function signOut() {
  try { await request('POST', '/api/v1/auth/logout'); } finally { session = null; }
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body ?? {});
export const patch = (path, body) => request('PATCH', path, body);
export const put = (path, body) => request('PUT', path, body);
export const del = (path) => request('DELETE', path);

/** One call. JSON in and out; a problem becomes a `Problem`; a session that ended sends the user
 *  to the sign-in page (unless `quiet`), coming back to where they were afterwards. */
export async function request(method, path, body, { quiet = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session?.csrfToken) headers['X-CSRF-Token'] = session.csrfToken;
  const response = await fetch(path, {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? parseJSON(text) : null;
  if (!response.ok) {
    const problem = new Problem(response.status, data);
    if (response.status === 401 && !quiet) {
      session = null;
      for (const listener of signedOutListeners) listener();
    }
    throw problem;
  }
  return data;
}

function parseJSON(text) {
  try { return JSON.parse(text); } catch { return { detail: text }; }
}

/** A WebSocket on the API (same origin, so the session cookie goes along). */
export function socket(path) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return new WebSocket(`${scheme}//${location.host}${path}`);
}

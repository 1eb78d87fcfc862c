// One server: its address, pinned keys and connection; a check of each step (reachable, login,
// round trip, runner); a changed host key with what to do about it; removing it.
import { del, get, patch, post } from './api.js';
import { badge, confirmAction, fill, h, notice, time } from './dom.js';
import { connection } from './page-servers.js';

export default async function page(main, params, app) {
  const server = await get(`/api/v1/servers/${encodeURIComponent(params.id)}`);
  app.setTitle(server.name);
  const message = h('div');
  const check = h('div', { id: 'server-check' });
  const path = `/api/v1/servers/${encodeURIComponent(server.name)}`;
  const item = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
  const mismatch = server.hostKeyMismatch;
  fill(main,
    h('div', { class: 'row spread' }, h('h1', {}, server.name),
      app.canEdit ? h('div', { class: 'row' },
        h('button', { type: 'button', class: 'primary', id: 'check-server', onclick: async (event) => {
          event.target.disabled = true;
          fill(check, h('p', { class: 'muted' }, 'Checking…'));
          try { fill(check, checkResult(await post(`${path}/check`))); } catch (error) { fill(check, notice(error.message)); }
          event.target.disabled = false;
        } }, 'Check'),
        h('button', { type: 'button', class: 'danger', onclick: async () => {
          if (!(await confirmAction(`Remove the server "${server.name}"? Its credentials are deleted.`, 'Remove'))) return;
          try { await del(path); app.navigate('/servers'); } catch (error) { fill(message, notice(error.message)); }
        } }, 'Remove')) : null),
    message,
    mismatch ? h('div', { class: 'notice error', role: 'alert', id: 'host-key-changed' },
      h('p', {}, h('strong', {}, 'The host offered another key'), ' (', time(mismatch.seenAt), '): every connection is refused until you decide.'),
      h('p', {}, 'Pinned: ', h('code', {}, server.hostKeys.map((k) => k.fingerprint).join(', '))),
      h('p', {}, 'Offered: ', h('code', {}, mismatch.offered.fingerprint)),
      h('p', {}, 'If the host’s key was changed on purpose (a reinstall, a new image), compare the offered fingerprint with the host’s own and pin it. If not, someone may be between you and the host: do not pin it, and find out why.'),
      app.canEdit ? h('button', { type: 'button', onclick: async () => {
        if (!(await confirmAction(`Trust ${mismatch.offered.fingerprint} for ${server.name} from now on?`, 'Pin the new key'))) return;
        try { await patch(path, { acceptHostKey: mismatch.offered.fingerprint }); app.navigate(location.pathname, { replace: true }); } catch (error) { fill(message, notice(error.message)); }
      } }, 'Pin the offered key') : null) : null,
    h('div', { class: 'panel' }, h('dl', { class: 'fields' },
      item('Address', `${server.username}@${server.host}:${server.port}`),
      item('Logs in with', server.auth === 'PASSWORD' ? 'a password' : 'a private key'),
      server.publicKey ? item('Public key', h('code', { class: 'secret' }, server.publicKey)) : null,
      item('Pinned host keys', server.hostKeys.length ? h('ul', {}, server.hostKeys.map((k) => h('li', {}, `${k.type} `, h('code', {}, k.fingerprint)))) : badge('PENDING')),
      item('Tags', server.tags.join(', ') || '—'),
      item('Connection', connection(server)),
      server.connection?.lastError ? item('Last error', server.connection.lastError) : null,
      item('Added', time(server.createdAt)))),
    h('h2', {}, 'Check'),
    fill(check, h('p', { class: 'muted' }, 'Check connects now and reports each step.')));
}

function checkResult(result) {
  const step = (ok, label, detail) => h('li', {}, badge(ok ? 'SUCCESS' : 'FAILURE'), ' ', label, detail ? `: ${detail}` : '');
  return h('ul', {},
    step(result.reachable, 'reachable'),
    step(result.authenticated, 'logged in'),
    result.roundTripMilliseconds != null ? step(true, 'round trip', `${result.roundTripMilliseconds.toFixed(1)} ms`) : null,
    h('li', {}, badge(result.runnerVersion ? 'SUCCESS' : 'PENDING'), ' runner: ', result.runnerVersion ?? 'not deployed yet (the first run deploys it)'),
    result.error ? h('li', { class: 'field-error' }, result.error) : null);
}

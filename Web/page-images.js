// Container runs: the engine Cronium found, and each runner image's state. Images are built on
// the machine with `cronium images build` (it takes minutes and the host's package sources).
import { get } from './api.js';
import { badge, fill, h, table } from './dom.js';

const states = { UP_TO_DATE: ['SUCCESS', 'up to date'], OUTDATED: ['PARTIAL', 'outdated: build it again'], MISSING: ['FAILURE', 'missing'], UNKNOWN: ['PENDING', 'unknown'] };

export default async function page(main, _params, app) {
  app.setTitle('Container images');
  const status = await get('/api/v1/images');
  fill(main,
    h('h1', {}, 'Container images'),
    h('div', { class: 'panel' }, h('p', { id: 'engine-status' }, badge(status.engine.available ? 'ACTIVE' : 'PAUSED'), ' ', h('strong', {}, 'Container engine: '), status.engine.detail)),
    h('h2', {}, 'Runner images'),
    status.engine.available ? table([
      ['Image', (i) => h('code', {}, i.name)],
      ['State', (i) => h('span', {}, badge(states[i.state][0]), ' ', states[i.state][1])],
      ['Id', (i) => i.id ? h('code', {}, i.id.replace('sha256:', '').slice(0, 12)) : ''],
    ], status.images) : h('p', { class: 'muted' }, 'No engine: container runs cannot start on this server.'),
    h('p', { class: 'muted' }, 'Build or rebuild them on the server’s machine with ', h('code', {}, 'cronium images build'),
      ' (Debian packages through mmdebstrap; see the containers guide). Events with their own image need none of these.'));
}

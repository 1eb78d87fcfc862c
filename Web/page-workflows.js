// Workflows: the list, with each one's trigger, its node count, and run/pause/delete.
import { del, get, post } from './api.js';
import { badge, confirmAction, fill, h, notice, table } from './dom.js';
import { describeSchedule } from './page-events.js';

export default async function page(main, _params, app) {
  app.setTitle('Workflows');
  const message = h('div');
  const list = h('div');
  async function load() {
    const workflows = await get('/api/v1/workflows');
    fill(list, table([
      ['Name', (w) => h('a', { href: `/workflows/${w.id}` }, w.name)],
      ['Status', (w) => badge(w.status)],
      ['Trigger', (w) => w.trigger === 'SCHEDULE' ? describeSchedule(w.schedule) : w.trigger],
      ['Nodes', (w) => String(w.nodes.length)],
      ['', (w) => app.mayChange(w) ? h('div', { class: 'row' },
        w.status === 'ACTIVE' || w.status === 'PAUSED' ? h('button', { type: 'button', 'aria-label': `${w.status === 'ACTIVE' ? 'Pause' : 'Resume'} ${w.name}`, onclick: async () => {
          try { await post(`/api/v1/workflows/${w.id}/${w.status === 'ACTIVE' ? 'pause' : 'resume'}`); await load(); } catch (error) { fill(message, notice(error.message)); }
        } }, w.status === 'ACTIVE' ? 'Pause' : 'Resume') : null,
        h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${w.name}`, onclick: async () => {
          if (!(await confirmAction(`Delete the workflow "${w.name}" and its runs? Its events stay.`))) return;
          try { await del(`/api/v1/workflows/${w.id}`); await load(); } catch (error) { fill(message, notice(error.message)); }
        } }, 'Delete')) : ''],
    ], workflows, 'No workflows yet.'));
  }
  fill(main,
    h('div', { class: 'row spread' }, h('h1', {}, 'Workflows'), app.canEdit ? h('a', { class: 'button primary', href: '/workflows/new' }, 'New workflow') : null),
    message, list);
  await load();
}

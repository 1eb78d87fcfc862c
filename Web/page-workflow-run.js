// One run of a workflow: the graph with each node's state, changing as the run goes (asked
// every second until it ends), each node linking to its execution's log; and the nodes' table.
import { get, post } from './api.js';
import { badge, duration, fill, h, notice, table, time } from './dom.js';
import { drawGraph } from './graph.js';

export default async function page(main, params, app) {
  const workflow = await get(`/api/v1/workflows/${encodeURIComponent(params.id)}`);
  let run = await get(`/api/v1/workflows/${workflow.id}/runs/${encodeURIComponent(params.run)}`);
  app.setTitle(`${workflow.name} run #${run.id}`);
  const message = h('div');
  const header = h('div', { class: 'row spread' });
  const record = h('div', { class: 'panel' });
  const graph = h('div', { class: 'canvas-wrap', id: 'run-graph' });
  const nodes = h('div', { id: 'run-nodes' });
  let timer = null;

  const draw = () => {
    const going = run.status === 'RUNNING' || run.status === 'QUEUED';
    fill(header,
      h('h1', {}, h('a', { href: `/workflows/${workflow.id}` }, workflow.name), ` run #${run.id} `, h('span', { id: 'run-status' }, badge(run.status))),
      going && app.mayChange(workflow) ? h('button', { type: 'button', class: 'danger', onclick: async () => {
        try { run = await post(`/api/v1/workflows/${workflow.id}/runs/${run.id}/cancel`); draw(); } catch (error) { fill(message, notice(error.message)); }
      } }, 'Cancel run') : null);
    fill(record, h('dl', { class: 'fields' },
      [h('dt', {}, 'Trigger'), h('dd', {}, run.trigger)],
      [h('dt', {}, 'Started'), h('dd', {}, time(run.createdAt))],
      [h('dt', {}, 'Took'), h('dd', {}, duration(run.createdAt, run.finishedAt))],
      run.input !== undefined && run.input !== null ? [h('dt', {}, 'Input'), h('dd', {}, h('code', {}, JSON.stringify(run.input)))] : null,
      run.cancelReason ? [h('dt', {}, 'Cancelled'), h('dd', {}, run.cancelReason)] : null));
    const byKey = new Map(run.nodes.map((n) => [n.key, n]));
    const { picture } = drawGraph({
      nodes: workflow.nodes, connections: workflow.connections,
      decorate: (node) => {
        const state = byKey.get(node.key);
        const word = !state ? 'not in this run' : state.state === 'ENDED' ? state.status : state.state;
        return { class: `state-${word}`, subtitle: word };
      },
      onNode: (key) => {
        const state = byKey.get(key);
        if (state?.executionId) app.navigate(`/executions/${state.executionId}`);
      },
    });
    fill(graph, picture);
    fill(nodes, table([
      ['Node', (n) => n.key],
      ['State', (n) => badge(n.state === 'ENDED' ? n.status : n.state)],
      ['Run', (n) => n.executionId ? h('a', { href: `/executions/${n.executionId}` }, `#${n.executionId}`) : ''],
      ['Took', (n) => duration(n.startedAt, n.finishedAt)],
      ['Output', (n) => n.output !== undefined && n.output !== null ? h('code', {}, JSON.stringify(n.output)) : ''],
      ['Why', (n) => n.reason ?? ''],
    ], run.nodes));
    if (!going && timer) { clearInterval(timer); timer = null; }
  };

  draw();
  fill(main, header, message, record, h('h2', {}, 'Graph'), h('p', { class: 'muted' }, 'Select a node to open its run’s log.'), graph, h('h2', {}, 'Nodes'), nodes);
  if (run.status === 'RUNNING' || run.status === 'QUEUED') {
    timer = setInterval(async () => {
      try { run = await get(`/api/v1/workflows/${workflow.id}/runs/${run.id}`); draw(); } catch (error) { fill(message, notice(error.message)); }
    }, 1000);
  }
  return () => { if (timer) clearInterval(timer); };
}

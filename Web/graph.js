// A workflow's graph as SVG: nodes laid out in columns by their distance from the roots, and
// connections as curves labelled with their `when`. Used by the editor (with handles to drag a
// connection from one node to another) and by a run's view (nodes coloured by their state).
import { svg } from './dom.js';

export const nodeWidth = 170;
export const nodeHeight = 58;
const columnGap = 90;
const rowGap = 28;
const margin = 24;

/** Short marks for each `when`, shown on its curve. */
export const whenLabels = { ON_SUCCESS: 'success', ON_FAILURE: 'failure', ON_CONDITION: 'condition', ALWAYS: 'always' };

/** Where each node goes: its column is the longest path to it from a root (cycles, which saving
 *  refuses, are cut), its row its order within the column. */
export function layout(nodes, connections) {
  const keys = nodes.map((n) => n.key);
  const depth = new Map(keys.map((k) => [k, 0]));
  // Longest path by relaxation; at most as many rounds as nodes, so a cycle cannot loop forever.
  for (let round = 0; round < keys.length; round++) {
    let changed = false;
    for (const c of connections) {
      if (!depth.has(c.from) || !depth.has(c.to) || c.from === c.to) continue;
      if (depth.get(c.to) < depth.get(c.from) + 1 && depth.get(c.from) + 1 < keys.length) {
        depth.set(c.to, depth.get(c.from) + 1);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const rows = new Map();
  const positions = new Map();
  for (const key of keys) {
    const column = depth.get(key);
    const row = rows.get(column) ?? 0;
    rows.set(column, row + 1);
    positions.set(key, { x: margin + column * (nodeWidth + columnGap), y: margin + row * (nodeHeight + rowGap) });
  }
  const width = margin * 2 + (Math.max(0, ...depth.values()) + 1) * (nodeWidth + columnGap) - columnGap;
  const height = margin * 2 + Math.max(1, ...rows.values()) * (nodeHeight + rowGap) - rowGap;
  return { positions, width: Math.max(width, 320), height: Math.max(height, 120) };
}

/** The curve of a connection, from the right side of one node to the left side of the other;
 *  one that goes back (a cycle being drawn) loops below both nodes. Also where its label goes. */
function curve(from, to) {
  const x1 = from.x + nodeWidth, y1 = from.y + nodeHeight / 2;
  const x2 = to.x, y2 = to.y + nodeHeight / 2;
  if (x2 > x1 + 20) {
    const bend = Math.max(40, (x2 - x1) / 2);
    return { d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`, label: { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6 } };
  }
  const below = Math.max(from.y, to.y) + nodeHeight + loopDepth;
  return { d: `M ${x1} ${y1} C ${x1 + 70} ${below}, ${x2 - 70} ${below}, ${x2} ${y2}`, label: { x: (x1 + x2) / 2, y: below - 14 } };
}

/** How far below its nodes a connection that goes back loops. */
const loopDepth = 40;

/** The whole picture. `decorate(node)` gives each node's extra class, second line and link;
 *  `onNode`, `onEdge` make them selectable; `problems` marks nodes and connections that saving
 *  refused (`{nodes: Set of keys, connections: Set of indexes}`). */
export function drawGraph({ nodes, connections, selected = null, problems = null, decorate = () => ({}), onNode = null, onEdge = null, handles = false }) {
  const { positions, width, height: laidOut } = layout(nodes, connections);
  // Room below for connections that go back.
  const backwards = connections.some((c) => positions.has(c.from) && positions.has(c.to) && positions.get(c.to).x <= positions.get(c.from).x);
  const height = laidOut + (backwards ? loopDepth : 0);
  const edges = connections.map((c, index) => {
    const from = positions.get(c.from), to = positions.get(c.to);
    if (!from || !to) return null;
    const { d: path, label: mid } = curve(from, to);
    const isSelected = selected?.kind === 'edge' && selected.index === index;
    const bad = problems?.connections.has(index);
    const label = `${c.from} to ${c.to} on ${whenLabels[c.when] ?? c.when}`;
    return svg('g', { class: `edge ${c.when}${isSelected ? ' selected' : ''}${bad ? ' problem' : ''}`, 'data-index': index,
      tabindex: onEdge ? 0 : null, role: onEdge ? 'button' : null, 'aria-label': label },
    svg('path', { class: 'edge-hit', d: path }),
    svg('path', { class: 'edge-line', d: path, 'marker-end': 'url(#arrow)' }),
    svg('text', { class: 'edge-label', x: mid.x, y: mid.y, 'text-anchor': 'middle' }, whenLabels[c.when] ?? c.when));
  });
  const boxes = nodes.map((node) => {
    const at = positions.get(node.key);
    const extra = decorate(node);
    const isSelected = selected?.kind === 'node' && selected.key === node.key;
    const bad = problems?.nodes.has(node.key);
    return svg('g', { class: `node ${extra.class ?? ''}${isSelected ? ' selected' : ''}${bad ? ' problem' : ''}`, 'data-key': node.key,
      transform: `translate(${at.x} ${at.y})`, tabindex: onNode ? 0 : null, role: onNode ? 'button' : null,
      'aria-label': `node ${node.key}${extra.subtitle ? ', ' + extra.subtitle : ''}` },
    svg('rect', { width: nodeWidth, height: nodeHeight, rx: 8 }),
    svg('text', { class: 'node-key', x: 12, y: 23 }, clip(node.key, 20)),
    svg('text', { class: 'node-sub', x: 12, y: 43 }, clip(extra.subtitle ?? '', 24)),
    handles ? svg('circle', { class: 'handle', cx: nodeWidth, cy: nodeHeight / 2, r: 7, 'data-key': node.key },
      svg('title', {}, `Drag to another node to connect ${node.key} to it`)) : null);
  });
  const picture = svg('svg', { class: 'graph', viewBox: `0 0 ${width} ${height}`, width, height, role: 'group', 'aria-label': 'Workflow graph' },
    svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      svg('path', { d: 'M 0 0 L 10 5 L 0 10 z' }))),
    ...edges.filter(Boolean), ...boxes);
  const activate = (event, handler, find) => {
    const target = event.target.closest(find);
    if (target && handler) { event.preventDefault(); handler(target); }
  };
  picture.addEventListener('click', (event) => {
    activate(event, onNode && ((g) => onNode(g.dataset.key)), 'g.node');
    activate(event, onEdge && ((g) => onEdge(Number(g.dataset.index))), 'g.edge');
  });
  picture.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' && event.key !== ' ') return;
    activate(event, onNode && ((g) => onNode(g.dataset.key)), 'g.node');
    activate(event, onEdge && ((g) => onEdge(Number(g.dataset.index))), 'g.edge');
  });
  return { picture, positions };
}

function clip(text, length) { return text.length > length ? text.slice(0, length - 1) + '…' : text; }

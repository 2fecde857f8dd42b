/**
 * The graph as /v1/explain expands it, drawn as an SVG: inputs on the left, each
 * node one column right of its deepest argument, edges as lines. Active nodes
 * (carrying derivatives) are blue, inactive ones grey with a dashed outline, so
 * a constant input's part of the graph is seen to cost nothing.
 */
import type { Explanation } from './api.js';

const SVG = 'http://www.w3.org/2000/svg';
export const MAX_DRAWN = 80;
/** The smallest scale a diagram is drawn at to fit its panel. */
const MIN_SCALE = 0.55;

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

export function diagram(ex: Explanation): Element {
  if (ex.nodes.length > MAX_DRAWN) {
    const p = document.createElement('p');
    p.textContent = `${ex.nodes.length} nodes (${ex.nodes.filter((n) => n.active).length} active): too many to draw.`;
    return p;
  }
  const depth = new Map<string, number>();
  const active = new Map<string, boolean>();
  for (const i of ex.inputs) {
    depth.set(i.name, 0);
    active.set(i.name, i.active);
  }
  const edges: [string, string][] = [];
  for (const n of ex.nodes) {
    const refs = (n.args ?? []).filter((a): a is string => typeof a === 'string' && depth.has(a));
    depth.set(n.id, 1 + Math.max(0, ...refs.map((a) => depth.get(a) ?? 0)));
    active.set(n.id, n.active);
    for (const a of refs) edges.push([a, n.id]);
  }
  const label = new Map<string, string>([...ex.inputs.map((i) => [i.name, i.name] as [string, string])]);
  for (const n of ex.nodes) label.set(n.id, `${n.op}${n.id.includes('/') ? '' : ` ${n.id}`}`);
  const columns: string[][] = [];
  for (const [id, d] of depth) {
    columns[d] ??= [];
    columns[d].push(id);
  }
  const [w, h, gx, gy] = [92, 26, 108, 36];
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((ids, c) => {
    ids.forEach((id, r) => {
      pos.set(id, { x: 8 + c * gx, y: 8 + r * gy });
    });
  });
  const width = 16 + (columns.length - 1) * gx + w;
  const height = 16 + (Math.max(...columns.map((c) => c.length)) - 1) * gy + h;
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'diagram' });
  // Shrunk to the panel's width, down to MIN_SCALE (text stays readable); wider graphs scroll.
  // Set through the CSSOM: the page's CSP allows no style attributes.
  svg.style.width = '100%';
  svg.style.maxWidth = `${width}px`;
  svg.style.minWidth = `${Math.round(width * MIN_SCALE)}px`;
  svg.style.height = 'auto';
  svg.setAttribute(
    'aria-label',
    `graph: ${ex.nodes.filter((n) => n.active).length} active nodes, ${ex.nodes.filter((n) => !n.active).length} inactive`,
  );
  for (const [a, b] of edges) {
    const [p, q] = [pos.get(a), pos.get(b)];
    if (p && q)
      svg.append(
        el('line', {
          x1: p.x + w,
          y1: p.y + h / 2,
          x2: q.x,
          y2: q.y + h / 2,
          class: active.get(b) && active.get(a) ? 'edge active' : 'edge',
        }),
      );
  }
  const outputs = new Set(ex.outputs.map((o) => o.name));
  for (const [id, p] of pos) {
    const g = el('g', { class: `node ${active.get(id) ? 'active' : 'inactive'}${outputs.has(id) ? ' output' : ''}`, 'data-id': id });
    const title = el('title', {});
    title.textContent = `${id}: ${active.get(id) ? 'active' : 'inactive (constant)'}`;
    g.append(title, el('rect', { x: p.x, y: p.y, width: w, height: h, rx: 5 }));
    const t = el('text', { x: p.x + w / 2, y: p.y + h / 2 + 4, 'text-anchor': 'middle' });
    const text = label.get(id) ?? id;
    t.textContent = text.length > 14 ? `${text.slice(0, 13)}…` : text;
    g.append(t);
    svg.append(g);
  }
  return svg;
}

/**
 * What formulas cost a call: the seed residual's Jacobian (dr/dxs, d and t constant)
 * with its graph written as nodes and as two formulas (`define`), interleaved
 * (timing.ts). "uncached": no plan cache, so every call parses, lowers and checks the
 * graph; "cached": a shared PlanCache, the service's steady state. Each call gets a
 * fresh copy of the graph, as a parsed request body would be.
 *   npx tsx bench/formulas.ts
 */
import { jacobian, PlanCache, type WireGraph } from '../src/index.js';
import { measure } from './timing.js';

const t = Array.from({ length: 21 }, (_, i) => i - 10);
const d = t.map((ti, i) => Math.exp(-1.5 * (ti - 0.3) ** 2) + 0.01 * Math.sin(i));
const inputs = [
  { name: 'd', shape: [21] },
  { name: 't', shape: [21] },
  { name: 'xs', shape: [] },
];
const asNodes: WireGraph = {
  inputs,
  nodes: [
    { id: 'u', op: 'sub', args: ['t', 'xs'] },
    { id: 'u2', op: 'square', args: ['u'] },
    { id: 'a', op: 'mul', args: [-1.5, 'u2'] },
    { id: 'f', op: 'exp', args: ['a'] },
    { id: 'num', op: 'dot', args: ['d', 'f'] },
    { id: 'den', op: 'dot', args: ['f', 'f'] },
    { id: 'c', op: 'div', args: ['num', 'den'] },
    { id: 'cf', op: 'mul', args: ['c', 'f'] },
    { id: 'r', op: 'sub', args: ['d', 'cf'] },
  ],
  outputs: ['r'],
};
const asFormulas: WireGraph = { inputs, define: { f: 'exp(-1.5*(t - xs)^2)', r: 'd - dot(d, f)/dot(f, f)*f' }, outputs: ['r'] };

const call = (graph: WireGraph, cache: PlanCache | false) => () =>
  jacobian({ graph: structuredClone(graph), args: { d, t, xs: 0.1 }, constant: ['d', 't'] }, { cache });

const [nodesCache, formulasCache] = [new PlanCache(64 << 20), new PlanCache(64 << 20)];
const results = await measure([
  { name: 'nodes, uncached', fn: call(asNodes, false) },
  { name: 'formulas, uncached', fn: call(asFormulas, false) },
  { name: 'nodes, cached', fn: call(asNodes, nodesCache) },
  { name: 'formulas, cached', fn: call(asFormulas, formulasCache) },
]);
const us = (name: string) => (results.get(name)?.medianUs ?? Number.NaN).toFixed(1);
for (const name of results.keys()) console.log(`${name.padEnd(20)} ${us(name).padStart(8)} µs per call (median)`);
for (const kind of ['uncached', 'cached']) {
  const ratio = (results.get(`formulas, ${kind}`)?.medianUs ?? 0) / (results.get(`nodes, ${kind}`)?.medianUs ?? 1);
  console.log(`formulas / nodes, ${kind}: ${ratio.toFixed(2)}`);
}

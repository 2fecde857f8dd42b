/**
 * Measures the case in src/analysis/cost.test.ts where counting elements picks the
 * wrong mode: forward vs reverse Jacobian medians in one run, and what auto picks.
 * Run: npx tsx bench/auto-two-regions.ts
 */
import { jacobian } from '../src/index.js';

const fill = (shape: number[], f: (i: number) => number): unknown => {
  let k = 0;
  const b = (d: number): unknown => (d === shape.length ? f(k++) : Array.from({ length: shape[d] }, () => b(d + 1)));
  return b(0);
};
const graph = {
  inputs: [
    { name: 'a', shape: [4] },
    { name: 'b', shape: [] },
    { name: 'K0', shape: [4, 512] },
    { name: 'K1', shape: [512, 512] },
    { name: 'C', shape: [6, 400] },
  ],
  nodes: [
    { id: 'h1', op: 'matmul', args: ['a', 'K0'] },
    { id: 'h2', op: 'matmul', args: ['h1', 'K1'] },
    { id: 'y1', op: 'sum', args: ['h2'] },
    { id: 't', op: 'mul', args: ['b', 'C'] },
    { id: 'u', op: 'sin', args: ['t'] },
    { id: 'v', op: 'exp', args: ['u'] },
    { id: 'y2', op: 'sum', args: ['v'], axes: [1] },
  ],
  outputs: ['y1', 'y2'],
};
const args = {
  a: [0.1, 0.2, 0.3, 0.4],
  b: 0.5,
  K0: fill([4, 512], (i) => Math.sin(i)),
  K1: fill([512, 512], (i) => Math.cos(i) / 512),
  C: fill([6, 400], (i) => Math.sin(0.1 * i)),
};
const request = (mode: string) => ({ graph, args, constant: ['K0', 'K1', 'C'], mode });

const samples: Record<string, number[]> = { forward: [], reverse: [] };
for (let i = 0; i < 41; i++) {
  for (const mode of ['forward', 'reverse']) samples[mode].push((await jacobian(request(mode))).timings.differentiateMs);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const auto = await jacobian(request('auto'));
console.log(
  `forward ${median(samples.forward).toFixed(3)} ms, reverse ${median(samples.reverse).toFixed(3)} ms (medians of 41, alternating)`,
);
console.log(`auto: ${auto.mode} (${auto.reason})`);

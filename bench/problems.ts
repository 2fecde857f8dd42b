/**
 * The benchmark problems (issue 4): each graph is bench/problems/<id>.json in the
 * public format; here are its arguments (deterministic), constants, operation and
 * which derivd engines run on it.
 */
import { readFileSync } from 'node:fs';
import type { Tensor } from '../src/index.js';

export type Kind = 'seed' | 'seedScalar' | 'rosenbrock' | 'net' | 'sinexp' | 'bratu' | 'rowmap' | 'solve';
export type EngineName = 'forward' | 'reverse' | 'fd' | 'auto';

export interface Graph {
  inputs: { name: string; shape: number[] }[];
  nodes: unknown[];
  outputs: string[];
}

export interface Problem {
  id: string;
  kind: Kind;
  title: string;
  operation: 'jacobian' | 'gradient';
  graph: Graph;
  /** One packed tensor per graph input, in graph input order. */
  args: Tensor[];
  constant: string[];
  /** Indices (into graph.inputs) of the active inputs, in order. */
  active: number[];
  engines: EngineName[];
  /** Part of `--quick`. */
  quick: boolean;
  /** jacobian: 'coo' for the structurally non-zero entries (the problem is sparse), else dense blocks. */
  format?: 'coo';
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const packed = (shape: number[], f: (i: number) => number): Tensor => ({
  shape,
  data: Float64Array.from({ length: size(shape) }, (_, i) => f(i)),
});

/** mulberry32: uniform in [0, 1), deterministic. */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function make(
  id: string,
  kind: Kind,
  title: string,
  operation: Problem['operation'],
  args: Tensor[],
  constant: string[],
  quick: boolean,
): Problem {
  const graph = JSON.parse(readFileSync(new URL(`./problems/${id}.json`, import.meta.url), 'utf8')) as Graph;
  const active = graph.inputs.flatMap((inp, i) => (constant.includes(inp.name) ? [] : [i]));
  const activeElements = active.reduce((s, i) => s + size(graph.inputs[i].shape), 0);
  // forward: one direction per active element, run up to 1e3 of them; fd: two primal evaluations each, up to 1e4.
  const engines: EngineName[] = [
    ...(activeElements <= 1e3 ? ['forward' as const] : []),
    'reverse',
    ...(2 * activeElements <= 1e4 ? ['fd' as const] : []),
    'auto',
  ];
  return { id, kind, title, operation, graph, args, constant, active, engines, quick };
}

// The seed data: d = f(0.3) + 0.01 sin(i) on x = -10..10, xs = 0.1 (as in test/seed.test.ts).
const seedD = packed([21], (i) => Math.exp(-1.5 * (i - 10 - 0.3) ** 2) + 0.01 * Math.sin(i));
const seedXs = packed([], () => 0.1);

function rosenbrock(n: number, id: string, quick: boolean): Problem {
  const u = uniform(n);
  return make(id, 'rosenbrock', `extended Rosenbrock gradient, n = ${n}`, 'gradient', [packed([n], () => 3 * u() - 1.5)], [], quick);
}

/** sin-based pseudo-random data, scaled so that W1 X has unit variance (tanh not saturated). */
const wave = (shape: number[], freq: number, phase: number, scale: number): Tensor =>
  packed(shape, (i) => scale * Math.sin(freq * i + phase));

function sinexp(n: number, id: string, format?: 'coo'): Problem {
  // a coo problem shares its graph with the dense one of its size (bench/problems/P5-<n>.json)
  const p = make(
    format ? `P5-${n}` : id,
    'sinexp',
    `Jacobian of sin(x) exp(x), n = ${n}${format ? ', coo' : ''}`,
    'jacobian',
    [packed([n], (i) => Math.sin(0.7 * i + 0.3))],
    [],
    false,
  );
  // coo: one compressed sweep whatever n, so forward runs at any size; fd's 2n evaluations only up to the usual bound
  return format ? { ...p, id, format, engines: ['forward', 'reverse', ...(2 * n <= 1e4 ? ['fd' as const] : []), 'auto'] } : p;
}

export const PROBLEMS: Problem[] = [
  make('P1', 'seed', 'seed Jacobian dr/dxs, 1 -> 21', 'jacobian', [seedD, seedXs], ['d'], true),
  make('P2', 'seedScalar', 'seed scalar s = sum(r^2), ds/dxs', 'gradient', [seedD, seedXs], ['d'], true),
  rosenbrock(1e3, 'P3-1e3', false),
  rosenbrock(1e5, 'P3-1e5', true),
  rosenbrock(1e6, 'P3-1e6', false),
  make(
    'P4',
    'net',
    'dense net loss, 9,472 parameters',
    'gradient',
    [
      wave([128, 64], 1.2345, 0.1, 0.25), // W1
      wave([10, 128], 2.3456, 0.2, 0.1), // W2
      wave([64, 256], 0.5678, 0.3, 1), // X
      wave([10, 256], 3.4567, 0.4, 0.5), // Y
    ],
    ['X', 'Y'],
    true,
  ),
  sinexp(100, 'P5-100'),
  sinexp(1000, 'P5-1000'),
  sinexp(1000, 'P5-1000-coo', 'coo'),
  sinexp(100_000, 'P5-1e5-coo', 'coo'), // its graph: bench/problems/P5-100000.json
  // sparse Jacobians: tridiagonal (3 colours), block-diagonal with 4 × 4 blocks (4 colours)
  make(
    'P6',
    'bratu',
    'Jacobian of the 1-D Bratu residual, n = 1000 (tridiagonal)',
    'jacobian',
    [packed([1000], (i) => Math.sin((Math.PI * i) / 999)), packed([], () => 0.5)],
    ['lam'],
    false,
  ),
  make(
    'P7',
    'rowmap',
    'Jacobian of tanh(x W), x 250 × 4 (block-diagonal)',
    'jacobian',
    [wave([250, 4], 0.77, 0.1, 1), wave([4, 4], 1.9, 0.2, 0.5)],
    ['W'],
    false,
  ),
  // linear algebra (issue 12): a solve of n = 200, a uniform in [-1, 1] (no diagonal help: pivoting swaps rows)
  (() => {
    const u = uniform(200);
    return make(
      'S1',
      'solve',
      'gradient of sum(solve(a, b)) w.r.t. a and b, n = 200',
      'gradient',
      [packed([200, 200], () => 2 * u() - 1), packed([200], () => 2 * u() - 1)],
      [],
      false,
    );
  })(),
];

/** The wire request for derivd's public API: nested arrays (a bare number for shape []). */
export function request(
  p: Problem,
  mode: string,
): { graph: Graph; args: Record<string, unknown>; constant: string[]; mode: string; format?: 'coo' } {
  const nest = (t: Tensor): unknown => {
    let k = 0;
    const build = (d: number): unknown => (d === t.shape.length ? t.data[k++] : Array.from({ length: t.shape[d] }, () => build(d + 1)));
    return build(0);
  };
  return {
    graph: p.graph,
    args: Object.fromEntries(p.graph.inputs.map((inp, i) => [inp.name, nest(p.args[i])])),
    constant: p.constant,
    mode,
    ...(p.format ? { format: p.format } : {}),
  };
}

export { size };

/**
 * A pendulum θ'' = -k sin θ integrated by RK4, as wire graphs: with functions (a
 * stage function called four times per step, the step scanned), and the same
 * integrator unrolled into plain nodes by a JSON-level expansion written here,
 * independently of graph checking's (so the two check each other).
 *
 * The state carried is [θ, ω, k]: the parameter k rides in the carry (its rate is
 * 0), since a scan's function sees only the carry and a row of xs.
 */
import type { NodeGraph } from '../../src/index.js';

type Node = NodeGraph['nodes'][number];
type Fn = NonNullable<NodeGraph['functions']>[string];

export const DT = 0.01;

/**
 * stage(s, k, h) = f(s + h k), with f([θ, ω, k]) = [ω, -k sin θ, 0]: one RK4 stage,
 * the state update and the dynamics. The state's entries are read by masked sums
 * (θ = Σ y [1, 0, 0]) and written back by masks, so every op and every derivative
 * rule is elementwise, a sum or a broadcast.
 */
export const stage: Fn = {
  inputs: [
    { name: 's', shape: [3] },
    { name: 'k', shape: [3] },
    { name: 'h', shape: [] },
  ],
  nodes: [
    { id: 'hk', op: 'mul', args: ['h', 'k'] },
    { id: 'y', op: 'add', args: ['s', 'hk'] },
    { id: 'e0', op: 'const', value: [1, 0, 0] },
    { id: 'e1', op: 'const', value: [0, 1, 0] },
    { id: 'e2', op: 'const', value: [0, 0, 1] },
    { id: 'y0', op: 'mul', args: ['y', 'e0'] },
    { id: 'y1', op: 'mul', args: ['y', 'e1'] },
    { id: 'y2', op: 'mul', args: ['y', 'e2'] },
    { id: 'th', op: 'sum', args: ['y0'] },
    { id: 'om', op: 'sum', args: ['y1'] },
    { id: 'p', op: 'sum', args: ['y2'] },
    { id: 'sn', op: 'sin', args: ['th'] },
    { id: 'acc', op: 'mul', args: ['p', 'sn'] },
    { id: 'd0', op: 'mul', args: ['e0', 'om'] },
    { id: 'd1', op: 'mul', args: ['e1', 'acc'] },
    { id: 'out', op: 'sub', args: ['d0', 'd1'] },
  ],
  outputs: ['out'],
};

/** One RK4 step of the state s: four calls of stage, then s + dt/6 (k1 + 2 k2 + 2 k3 + k4). */
export const rk4: Fn = rk4Of(3);

/** The RK4 step for a state of n elements, calling `stage`. */
export function rk4Of(n: number): Fn {
  return {
    inputs: [{ name: 's', shape: [n] }],
    nodes: [
      { id: 'k1', op: 'call', function: 'stage', args: ['s', 's', 0] },
      { id: 'k2', op: 'call', function: 'stage', args: ['s', 'k1', DT / 2] },
      { id: 'k3', op: 'call', function: 'stage', args: ['s', 'k2', DT / 2] },
      { id: 'k4', op: 'call', function: 'stage', args: ['s', 'k3', DT] },
      { id: 'a', op: 'add', args: ['k1', 'k4'] },
      { id: 'b', op: 'add', args: ['k2', 'k3'] },
      { id: 'b2', op: 'mul', args: ['b', 2] },
      { id: 'c', op: 'add', args: ['a', 'b2'] },
      { id: 'd', op: 'mul', args: ['c', DT / 6] },
      { id: 'next', op: 'add', args: ['s', 'd'] },
    ],
    outputs: ['next'],
  };
}

/** g for the double pendulum (unit masses and lengths). */
const G = 9.81;

/**
 * A double pendulum's stage, f(s + h k) for the state [θ1, θ2, ω1, ω2] with unit
 * masses and lengths: with δ = θ1 - θ2 and D = 3 - cos 2δ,
 *   ω1' = (-3g sin θ1 - g sin(θ1 - 2θ2) - 2 sin δ (ω2² + ω1² cos δ)) / D
 *   ω2' = 2 sin δ (2ω1² + 2g cos θ1 + ω2² cos δ) / D.
 * A stage of 51 nodes: where a function pays, written out four times per step.
 */
export const doubleStage: Fn = {
  inputs: [
    { name: 's', shape: [4] },
    { name: 'k', shape: [4] },
    { name: 'h', shape: [] },
  ],
  nodes: [
    { id: 'hk', op: 'mul', args: ['h', 'k'] },
    { id: 'y', op: 'add', args: ['s', 'hk'] },
    ...[0, 1, 2, 3].flatMap((i) => [
      { id: `e${i}`, op: 'const', value: [0, 1, 2, 3].map((j) => (i === j ? 1 : 0)) },
      { id: `y${i}`, op: 'mul', args: ['y', `e${i}`] },
    ]),
    { id: 't1', op: 'sum', args: ['y0'] },
    { id: 't2', op: 'sum', args: ['y1'] },
    { id: 'w1', op: 'sum', args: ['y2'] },
    { id: 'w2', op: 'sum', args: ['y3'] },
    { id: 'd', op: 'sub', args: ['t1', 't2'] },
    { id: 'd2', op: 'mul', args: ['d', 2] },
    { id: 'c2', op: 'cos', args: ['d2'] },
    { id: 'den', op: 'sub', args: [3, 'c2'] },
    { id: 'sd', op: 'sin', args: ['d'] },
    { id: 'cd', op: 'cos', args: ['d'] },
    { id: 'st1', op: 'sin', args: ['t1'] },
    { id: 'ct1', op: 'cos', args: ['t1'] },
    { id: 'w1s', op: 'square', args: ['w1'] },
    { id: 'w2s', op: 'square', args: ['w2'] },
    { id: 't22', op: 'mul', args: ['t2', 2] },
    { id: 'a', op: 'sub', args: ['t1', 't22'] },
    { id: 'sa', op: 'sin', args: ['a'] },
    { id: 'p1', op: 'mul', args: ['w1s', 'cd'] },
    { id: 'p2', op: 'add', args: ['w2s', 'p1'] },
    { id: 'p3', op: 'mul', args: ['sd', 'p2'] },
    { id: 'p4', op: 'mul', args: ['p3', 2] },
    { id: 'q1', op: 'mul', args: ['st1', -3 * G] },
    { id: 'q2', op: 'mul', args: ['sa', G] },
    { id: 'q3', op: 'sub', args: ['q1', 'q2'] },
    { id: 'q4', op: 'sub', args: ['q3', 'p4'] },
    { id: 'a1', op: 'div', args: ['q4', 'den'] },
    { id: 'r1', op: 'mul', args: ['w1s', 2] },
    { id: 'r2', op: 'mul', args: ['ct1', 2 * G] },
    { id: 'r3', op: 'mul', args: ['w2s', 'cd'] },
    { id: 'r4', op: 'add', args: ['r1', 'r2'] },
    { id: 'r5', op: 'add', args: ['r4', 'r3'] },
    { id: 'r6', op: 'mul', args: ['sd', 'r5'] },
    { id: 'r7', op: 'mul', args: ['r6', 2] },
    { id: 'a2', op: 'div', args: ['r7', 'den'] },
    { id: 'f0', op: 'mul', args: ['e0', 'w1'] },
    { id: 'f1', op: 'mul', args: ['e1', 'w2'] },
    { id: 'f2', op: 'mul', args: ['e2', 'a1'] },
    { id: 'f3', op: 'mul', args: ['e3', 'a2'] },
    { id: 'f01', op: 'add', args: ['f0', 'f1'] },
    { id: 'f23', op: 'add', args: ['f2', 'f3'] },
    { id: 'out', op: 'add', args: ['f01', 'f23'] },
  ],
  outputs: ['out'],
};

/** The double pendulum's derivative, in plain arithmetic: what doubleStage computes at h = 0. */
export function doublePendulumRate([t1, t2, w1, w2]: readonly number[]): number[] {
  const d = t1 - t2;
  const den = 3 - Math.cos(2 * d);
  const a1 = (-3 * G * Math.sin(t1) - G * Math.sin(t1 - 2 * t2) - 2 * Math.sin(d) * (w2 * w2 + w1 * w1 * Math.cos(d))) / den;
  const a2 = (2 * Math.sin(d) * (2 * w1 * w1 + 2 * G * Math.cos(t1) + w2 * w2 * Math.cos(d))) / den;
  return [w1, w2, a1, a2];
}

/** The integrator over `steps` steps from (θ0, ω0) = s0 with parameter k: outputs the final [θ, ω], and θ alone. */
export function pendulumScan(steps: number): NodeGraph {
  return {
    inputs: [
      { name: 's0', shape: [2] },
      { name: 'k', shape: [] },
    ],
    functions: { stage, rk4 },
    nodes: [
      { id: 'k1', op: 'reshape', args: ['k'], shape: [1] },
      { id: 'init', op: 'concat', args: ['s0', 'k1'] },
      { id: 'traj', op: 'scan', function: 'rk4', length: steps, args: ['init'] },
      { id: 'last', op: 'index', args: ['traj'], indices: [steps - 1] },
      { id: 'final', op: 'slice', args: ['last'], start: [0, 0], stop: [1, 2] },
      { id: 'state', op: 'reshape', args: ['final'], shape: [2] },
      { id: 'th', op: 'index', args: ['state'], indices: [0] },
      { id: 'theta', op: 'reshape', args: ['th'], shape: [] },
    ],
    outputs: ['state', 'theta'],
  };
}

/**
 * `graph` with every call and scan expanded into plain nodes (a scan into `length`
 * copies of its function and a stack), each copy's ids suffixed with its number to
 * stay unique (as a person writing it out would: `hk.3`).
 */
export function unrolled(graph: NodeGraph): NodeGraph {
  const fns = graph.functions ?? {};
  const out: Node[] = [];
  let serial = 0;
  /** Emits `nodes` with names resolved by `names` (ids not in it get `suffix`); returns the resolver. */
  const body = (nodes: readonly Node[], names: Map<string, string | number>, suffix: string) => {
    const name = (a: string | number): string | number => (typeof a === 'number' ? a : (names.get(a) ?? `${a}${suffix}`));
    for (const node of order(nodes)) {
      const args = (node.args ?? []).map(name);
      const id = `${node.id}${suffix}`;
      if (node.op === 'call') {
        names.set(node.id, call(fns[node.function as string], args));
      } else if (node.op === 'scan') {
        const fn = fns[node.function as string];
        const rows: (string | number)[] = [];
        let carry = args[0];
        for (let t = 0; t < (node.length as number); t++) {
          const stepArgs = [carry];
          if (args.length > 1) {
            out.push({ id: `${id}/x${t}`, op: 'index', args: [args[1]], indices: [t] });
            out.push({ id: `${id}/xr${t}`, op: 'reshape', args: [`${id}/x${t}`], shape: fn.inputs[1].shape });
            stepArgs.push(`${id}/xr${t}`);
          }
          carry = call(fn, stepArgs);
          rows.push(carry);
        }
        out.push({ id, op: 'stack', args: rows });
      } else {
        out.push({ ...node, id, ...(node.args === undefined ? {} : { args }) });
      }
    }
    return name;
  };
  const call = (fn: Fn, args: readonly (string | number)[]): string | number => {
    const names = new Map<string, string | number>(fn.inputs.map((inp, i) => [inp.name, args[i]]));
    return body(fn.nodes, names, `.${++serial}`)(fn.outputs[0]);
  };
  const resolve = body(graph.nodes, new Map(), '');
  // An output that is a call's value names the node computing it (a literal argument cannot be an output).
  return { inputs: graph.inputs, nodes: out, outputs: graph.outputs.map((o) => String(resolve(o))) };
}

/** Nodes in dependency order (the wire allows any order). */
function order(nodes: readonly Node[]): Node[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const done = new Set<string>();
  const out: Node[] = [];
  const visit = (n: Node): void => {
    if (done.has(n.id)) return;
    done.add(n.id);
    for (const a of n.args ?? []) {
      const d = typeof a === 'string' ? byId.get(a) : undefined;
      if (d) visit(d);
    }
    out.push(n);
  };
  for (const n of nodes) visit(n);
  return out;
}

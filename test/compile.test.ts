/**
 * The compiler against its reference, the interpreter: the same bits on random
 * graphs, readable generated source (snapshots), and no request string ever in it.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { PlanCache, evaluate, gradient, hessian, jacobian, jvp, vjp, prepare, type Result } from '../src/index.js';
import { compiledSource, setExecutionMode } from '../src/compile/execute.js';
import { compileStats } from '../src/compile/codegen.js';
import { forwardProgram, primalKept, reverseProgram } from '../src/engines/programs.js';
import { expectClose } from './helpers/numeric.js';
import { numbers } from './helpers/results.js';
import { randomGraphCase, withScalarOutput, type GraphCase } from './helpers/random-graph.js';

const SEED = 20261127;
const PACKED = { output: 'packed' as const };

afterEach(() => setExecutionMode('compiled'));

/**
 * Compiled against interpreted: the same bits everywhere (expectClose at tolerance 0 is
 * Object.is per element, so -0 against 0 and NaN count); no comparison here needs the
 * 1e-12 relative tolerance the compiler would be allowed where it changed a summation
 * order, because it changes none (src/compile/codegen.ts): a fused loop evaluates each
 * op's own scalar function (or its inline template, checked bit for bit against it in
 * src/ops/inline.test.ts) on the elements the interpreter's kernels would read (index
 * maps are found by running those kernels), sums accumulate from 0 in element order as
 * the sum kernel does, recomputed residuals are the primal's own equations, and every
 * other equation runs the interpreter's evalEqn. Nothing is reassociated.
 */
function agree(a: number[], b: number[], label: string): void {
  expectClose(a, b, 0, label);
}

/** Runs `call` interpreted, then compiled twice (the first run of a small list is interpreted). */
async function bothWays(call: () => Promise<Result>): Promise<[number[], number[]]> {
  setExecutionMode('interpreted');
  const reference = numbers(await call());
  setExecutionMode('compiled');
  await call();
  const before = compileStats.segments;
  const compiled = numbers(await call());
  compiledRuns += compileStats.segments > before ? 1 : 0;
  return [compiled, reference];
}
let compiledRuns = 0;

describe('compiled code agrees with the interpreter', () => {
  test('on 300 random graphs: values, Jacobians (forward and reverse), jvp and vjp', async () => {
    compiledRuns = 0;
    await fc.assert(
      fc.asyncProperty(randomGraphCase(), async (c: GraphCase) => {
        const base = { graph: c.graph, args: c.args, constant: c.constant };
        for (const mode of ['forward', 'reverse'] as const) {
          const [got, ref] = await bothWays(() => jacobian({ ...base, mode }, PACKED));
          agree(got, ref, `jacobian ${mode}`);
        }
        const [j, jr] = await bothWays(() => jvp({ ...base, tangents: c.tangents }, PACKED));
        agree(j, jr, 'jvp');
        const [v, vr] = await bothWays(() => vjp({ ...base, cotangents: c.cotangents }, PACKED));
        agree(v, vr, 'vjp');
      }),
      { numRuns: 300, seed: SEED },
    );
    expect(compiledRuns).toBeGreaterThan(300); // the compiled path really ran
  });

  test('on 300 random graphs: Hessians (forward-over-reverse and forward-over-forward)', async () => {
    compiledRuns = 0;
    await fc.assert(
      fc.asyncProperty(randomGraphCase({ maxNodes: 12 }), async (c0: GraphCase) => {
        const c = withScalarOutput(c0, 'sumsq');
        for (const mode of ['reverse', 'forward'] as const) {
          const [got, ref] = await bothWays(() => hessian({ graph: c.graph, args: c.args, constant: c.constant, mode }, PACKED));
          agree(got, ref, `hessian ${mode}`);
        }
      }),
      { numRuns: 300, seed: SEED + 1 },
    );
    expect(compiledRuns).toBeGreaterThan(300); // the compiled path really ran
  });

  test('a primal compiled to keep only its outputs is refilled for a derivative program built later', async () => {
    const graph = {
      inputs: [{ name: 'w', shape: [8] }],
      nodes: [
        { id: 'W', op: 'reshape', args: ['w'], shape: [4, 2] },
        { id: 'a', op: 'slice', args: ['W'], start: [0, 0], stop: [4, 1] },
        { id: 'b', op: 'slice', args: ['W'], start: [0, 1], stop: [4, 2] },
        { id: 'e', op: 'exp', args: ['a'] },
        { id: 't', op: 'mul', args: ['e', 'b'] },
        { id: 'y', op: 'sum', args: ['t'] },
      ],
      outputs: ['y'],
    };
    const w = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8];
    const cache = new PlanCache(1 << 20);
    for (let i = 0; i < 3; i++) await evaluate({ graph, args: { w } }, { cache }); // compiled: keeps y only
    // The reverse program reads exp(a) (too dear to recompute): the first call refills it, later ones keep it.
    for (let i = 0; i < 3; i++) {
      const g = (await gradient({ graph, args: { w }, mode: 'reverse' }, { cache })).gradient?.w as number[];
      const want = w.map((_, j) => (j % 2 === 0 ? Math.exp(w[j]) * w[j + 1] : Math.exp(w[j - 1])));
      expectClose(g, want, 1e-15, `call ${i}`);
    }
  });

  test("large tensors (compiled on their first run) give the interpreter's numbers", async () => {
    const n = 10_000;
    const graph = {
      inputs: [{ name: 'x', shape: [n] }],
      nodes: [
        { id: 's', op: 'sin', args: ['x'] },
        { id: 'e', op: 'exp', args: ['x'] },
        { id: 'y', op: 'mul', args: ['s', 'e'] },
        { id: 'q', op: 'square', args: ['y'] },
        { id: 'L', op: 'sum', args: ['q'] },
      ],
      outputs: ['L'],
    };
    const x = Array.from({ length: n }, (_, i) => Math.sin(i) * 2);
    setExecutionMode('interpreted');
    const ref = numbers(await jacobian({ graph, args: { x } }, { ...PACKED, cache: false }));
    setExecutionMode('compiled');
    const before = compileStats.segments;
    agree(numbers(await jacobian({ graph, args: { x } }, { ...PACKED, cache: false })), ref, 'first run');
    expect(compileStats.segments).toBeGreaterThan(before); // it was compiled, not interpreted again
  });

  test('the ops of issue 12 fuse: Math functions by name, round and clip (its bounds bound per node) by call', async () => {
    const n = 64;
    const graph = {
      inputs: [{ name: 'x', shape: [n] }],
      nodes: [
        { id: 'a', op: 'asinh', args: ['x'] },
        { id: 'c', op: 'cbrt', args: ['x'] },
        { id: 'p', op: 'mul', args: ['a', 'c'] },
        { id: 'k1', op: 'clip', args: ['p'], min: -0.5, max: 0.75 },
        { id: 'k2', op: 'clip', args: ['x'], min: '-Infinity', max: 1 },
        { id: 'r', op: 'round', args: ['x'] },
        { id: 'f', op: 'floor', args: ['x'] },
        { id: 's', op: 'sign', args: ['x'] },
        { id: 'q', op: 'add', args: ['k1', 'k2'] },
        { id: 'g', op: 'mul', args: ['q', 'r'] },
        { id: 'h', op: 'add', args: ['g', 'f'] },
        { id: 't', op: 'mul', args: ['h', 's'] },
        { id: 'l', op: 'log2', args: ['t'] },
        { id: 'y', op: 'sum', args: ['l'] },
      ],
      outputs: ['y'],
    };
    // ties of round, both clips' bounds and their ties, -0 and a NaN among them
    const x = Array.from({ length: n }, (_, i) => (i === 0 ? -0 : i === 1 ? NaN : i === 2 ? 1 : (i - n / 2) / 8));
    for (const op of [jacobian, hessian]) {
      const call = () => op({ graph, args: { x: x.map((v) => (Number.isNaN(v) ? 'NaN' : v)) }, mode: 'reverse' }, PACKED);
      const [got, ref] = await bothWays(call);
      agree(got, ref, op.name);
    }
    const call = prepare('jacobian', { graph, args: { x: x.map((v) => (Number.isNaN(v) ? 'NaN' : v)) } }, { cache: false, limits: {} });
    const source = compiledSource(call.plan.schedule, call.plan.program.values, 1);
    for (const f of ['asinh', 'cbrt', 'floor', 'sign', 'log2']) expect(source).toContain(`Math.${f}(`);
    // one loop for all of it, the sum included: round and the two clips are calls of their own functions
    expect(source.match(/for \(let i = 0/g)).toHaveLength(1);
    expect(new Set(source.match(/F\[\d+\]/g))).toHaveProperty('size', 3);
  });
});

describe('generated source', () => {
  const small = (nodes: object[], inputs = [{ name: 'x', shape: [3] }], outputs = ['y']) => ({
    graph: { inputs, nodes, outputs },
    args: Object.fromEntries(
      inputs.map((i) => [i.name, i.shape.length ? Array.from({ length: i.shape[0] }, (_, j) => 0.5 * (j + 1)) : 0.5]),
    ) as Record<string, unknown>,
  });

  const cases: Record<string, ReturnType<typeof small>> = {
    'a fused elementwise chain': small([
      { id: 's', op: 'sin', args: ['x'] },
      { id: 'y', op: 'mul', args: ['s', 2] },
    ]),
    'a reduction between two loops': small([
      { id: 'e', op: 'exp', args: ['x'] },
      { id: 't', op: 'sum', args: ['e'] },
      { id: 'y', op: 'div', args: ['e', 't'] },
    ]),
    'slices read in place and a sum accumulated in the loop': small(
      [
        { id: 'W', op: 'reshape', args: ['w'], shape: [3, 2] },
        { id: 'a', op: 'slice', args: ['W'], start: [0, 0], stop: [3, 1] },
        { id: 'b', op: 'slice', args: ['W'], start: [0, 1], stop: [3, 2] },
        { id: 'd', op: 'sub', args: ['b', 'a'] },
        { id: 'q', op: 'square', args: ['d'] },
        { id: 'y', op: 'sum', args: ['q'] },
      ],
      [{ name: 'w', shape: [6] }],
    ),
    'a matrix product': {
      ...small(
        [{ id: 'y', op: 'matmul', args: ['A', 'x'] }],
        [
          { name: 'A', shape: [2, 3] },
          { name: 'x', shape: [3] },
        ],
      ),
      args: {
        A: [
          [1, 2, 3],
          [4, 5, 6],
        ],
        x: [0.5, 1, 1.5],
      },
    },
  };

  for (const [name, req] of Object.entries(cases)) {
    test(`snapshot: ${name} (primal, forward and reverse sweeps)`, () => {
      const call = prepare('jacobian', req, { cache: false, limits: {} });
      const plan = call.plan;
      const fwd = forwardProgram(plan, [0]);
      const rev = reverseProgram(plan, [0]);
      // As the engines compile them: keeping what their callers read, with the debug comments.
      const nodeName = (i: number): string => (req.graph.nodes[i] as { id: string }).id;
      expect({
        primal: compiledSource(plan.schedule, plan.program.values, 1, { keep: primalKept(plan).values, debug: true, nodeName }),
        forward: compiledSource(fwd.eqns, fwd.values, 3, { keep: fwd.kept.values, debug: true, nodeName }),
        reverse: compiledSource(rev.eqns, rev.values, 2, { keep: rev.kept.values, debug: true, nodeName }),
      }).toMatchSnapshot();
    });
  }

  test('hostile ids, names and attribute values never reach the source, and results stay right', async () => {
    const evil = [
      '"; process.exit(1); "',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a name that would run code if generated source interpolated it
      '`${process.exit(1)}`',
      '*/ process.exit(1) /*',
      '__proto__',
      'constructor',
      'a\nb\u2028c',
      "'); throw 1; ('",
    ];
    const nodes = [
      { id: evil[0], op: 'sin', args: [evil[3]] },
      { id: evil[1], op: 'mul', args: [evil[0], 3] },
      { id: evil[2], op: 'sum', args: [evil[1]], axes: [0] },
      { id: evil[4], op: 'add', args: [evil[2], evil[5]] },
      { id: evil[6], op: 'exp', args: [evil[4]] },
    ];
    const graph = {
      inputs: [
        { name: evil[3], shape: [3] },
        { name: evil[5], shape: [] },
      ],
      nodes,
      outputs: [evil[6]],
    };
    const x = [0.1, 0.2, 0.3];
    const args = Object.fromEntries([
      [evil[3], x],
      [evil[5], 0.5],
    ]);
    const cache = new PlanCache(1 << 20);
    let res: Result | undefined;
    for (let i = 0; i < 3; i++) res = await jacobian({ graph, args }, { cache }); // compiled by the second run
    const y = Math.exp(3 * x.reduce((s, v) => s + Math.sin(v), 0) + 0.5);
    const dx = (res!.jacobian![evil[6]] as Record<string, number[]>)[evil[3]];
    expectClose(
      dx,
      x.map((v) => 3 * Math.cos(v) * y),
      1e-14,
    );
    const call = prepare('jacobian', { graph, args }, { cache });
    const sources = [
      compiledSource(call.plan.schedule, call.plan.program.values, 1),
      compiledSource(forwardProgram(call.plan, [0]).eqns, forwardProgram(call.plan, [0]).values, 3),
      compiledSource(reverseProgram(call.plan, [0]).eqns, reverseProgram(call.plan, [0]).values, 1),
    ].join('\n');
    for (const s of evil) expect(sources.includes(s)).toBe(false);
    expect(sources).not.toMatch(/process|exit|throw|constructor|__proto__|[`'"\\]/);
    // The debug listing names nodes by their path, never by their (hostile) ids.
    const listed = call.generatedCode();
    expect(listed.map((l) => l.program)).toEqual(expect.arrayContaining(['primal', 'forward:0']));
    const text = listed.map((l) => l.source).join('\n');
    expect(text).toContain('// v2 = sin v0');
    expect(text).toContain('graph.nodes[4]');
    for (const s of evil) expect(text.includes(s)).toBe(false);
    expect(text).not.toMatch(/process|exit|throw|constructor|__proto__|[`'"\\]/);
  });
});

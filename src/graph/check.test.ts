/**
 * Graph validation: every way a graph can be wrong is a DerivdError with the right
 * kind, the exact dot-and-bracket path and a message saying what was expected and
 * what was found; independent errors come together, dependent ones are not repeated;
 * huge graphs are refused before any work. Graphs go through checkRequest (zod, then
 * checkGraph), as they do in the service, with zero arguments of the declared shapes.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate, jacobian } from '../index.js';
import { checkGraph } from './check.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import type { DerivdError } from './errors.js';
import { checkRequest } from './request.js';
import type { NodeGraph } from './schema.js';
import { expectIssues, type Expected } from '../../test/helpers/issues.js';

const seed: NodeGraph = JSON.parse(readFileSync(new URL('../../test/fixtures/seed-rs.graph.json', import.meta.url), 'utf8'));
const d = Array.from({ length: 21 }, (_, i) => Math.cos(i) / 2);

type Node = NodeGraph['nodes'][number];
const zeros = (shape: readonly number[]): unknown =>
  shape.length === 0 ? 0 : Array.from({ length: shape[0] }, () => zeros(shape.slice(1)));
const argsFor = (inputs: NodeGraph['inputs']): Record<string, unknown> => Object.fromEntries(inputs.map((x) => [x.name, zeros(x.shape)]));

/** Inputs x: [2], m: [2, 3], s: [] and the given nodes; outputs the last node unless told. */
function graphOf(nodes: unknown[], outputs?: string[]): NodeGraph {
  const last = (nodes[nodes.length - 1] as Node | undefined)?.id ?? 'x';
  return {
    inputs: [
      { name: 'x', shape: [2] },
      { name: 'm', shape: [2, 3] },
      { name: 's', shape: [] },
    ],
    nodes: nodes as Node[],
    outputs: outputs ?? [last],
  };
}

function check(graph: unknown, limits: Limits = DEFAULT_LIMITS): ReturnType<typeof checkRequest> {
  const g = graph as NodeGraph;
  const args =
    Array.isArray(g?.inputs) && g.inputs.every((x) => Array.isArray(x?.shape) && x.shape.length < 4 && x.shape.every((n) => n < 100))
      ? argsFor(g.inputs)
      : {};
  return checkRequest('evaluate', { graph, args }, limits);
}

const graphIssues = (nodes: unknown[], expected: Expected[], outputs?: string[]): DerivdError =>
  expectIssues(() => check(graphOf(nodes, outputs)), 'invalid_graph', expected);

describe('a valid graph', () => {
  it('checks the seed graph: one output of shape [21], ten nodes', () => {
    const g = checkGraph(seed);
    expect(g.nodeCount).toBe(10);
    expect(g.inputs.map((x) => [x.name, x.shape])).toEqual([
      ['d', [21]],
      ['xs', []],
    ]);
    expect(g.outputs.map((x) => [x.name, x.shape])).toEqual([['r', [21]]]);
  });

  it('accepts an input as an output, and an output listed by a later node', () => {
    const g = check(graphOf([{ id: 'y', op: 'exp', args: ['x'] }], ['x', 'y'])).graph;
    expect(g.outputs.map((o) => o.shape)).toEqual([[2], [2]]);
  });

  it('accepts literal number arguments in any position and evaluates them', async () => {
    const graph = graphOf([
      { id: 'a', op: 'mul', args: [2, 'x'] },
      { id: 'b', op: 'sub', args: ['a', -1.5] },
      { id: 'c', op: 'where', args: [1, 'b', 0] },
      { id: 'k', op: 'add', args: [3, 4] },
      { id: 'o', op: 'mul', args: ['c', 'k'] },
    ]);
    const r = await jacobian({ graph, args: { x: [1, 2], m: zeros([2, 3]), s: 0 }, constant: ['m', 's'] });
    expect(r.values.o).toEqual([24.5, 38.5]);
    expect(r.jacobian!.o.x).toEqual([
      [14, 0],
      [0, 14],
    ]);
  });

  it('does not depend on the order of the node array', async () => {
    const args = { d, xs: 0.3 };
    const base = await jacobian({ graph: seed, args, mode: 'forward' });
    const baseRev = await jacobian({ graph: seed, args, mode: 'reverse' });
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray(seed.nodes, { minLength: seed.nodes.length }), async (nodes) => {
        const graph = { ...seed, nodes };
        expect(await evaluate({ graph, args })).toMatchObject({ values: base.values });
        expect((await jacobian({ graph, args, mode: 'forward' })).jacobian).toEqual(base.jacobian);
        expect((await jacobian({ graph, args, mode: 'reverse' })).jacobian).toEqual(baseRev.jacobian);
      }),
      { numRuns: 25 },
    );
  });
});

describe('ids and references', () => {
  it('rejects a reference to nothing, at the argument', () => {
    graphIssues(
      [{ id: 'y', op: 'exp', args: ['z'] }],
      [['graph.nodes[0].args[0]', 'unknown reference "z"', 'no input or node has this id']],
    );
  });

  it('rejects a reference to a later-declared name only if it does not exist', () => {
    expect(() =>
      check(
        graphOf(
          [
            { id: 'b', op: 'exp', args: ['a'] },
            { id: 'a', op: 'neg', args: ['x'] },
          ],
          ['b'],
        ),
      ),
    ).not.toThrow();
  });

  it('rejects duplicate input names', () => {
    const graph = {
      inputs: [
        { name: 'x', shape: [2] },
        { name: 'x', shape: [] },
      ],
      nodes: [],
      outputs: ['x'],
    };
    expectIssues(() => checkRequest('evaluate', { graph, args: { x: [0, 0] } }), 'invalid_graph', [
      ['graph.inputs[1].name', 'duplicate input name "x"'],
    ]);
  });

  it('rejects duplicate node ids, naming the first use', () => {
    graphIssues(
      [
        { id: 'y', op: 'exp', args: ['x'] },
        { id: 'y', op: 'neg', args: ['x'] },
      ],
      [['graph.nodes[1].id', 'duplicate id "y"', 'already used by node graph.nodes[0]']],
    );
  });

  it('rejects a node id equal to an input name: one namespace', () => {
    graphIssues(
      [{ id: 'm', op: 'exp', args: ['x'] }],
      [['graph.nodes[0].id', 'duplicate id "m"', 'already used by input graph.inputs[1]']],
    );
  });

  it('rejects unknown and duplicate graph outputs', () => {
    graphIssues(
      [{ id: 'y', op: 'exp', args: ['x'] }],
      [
        ['graph.outputs[1]', 'unknown output "q"', 'no input or node has this id'],
        ['graph.outputs[2]', 'duplicate output "y"'],
      ],
      ['y', 'q', 'y'],
    );
  });
});

describe('cycles', () => {
  it('reports a -> b -> a once, at its first node', () => {
    graphIssues(
      [
        { id: 'a', op: 'exp', args: ['b'] },
        { id: 'b', op: 'neg', args: ['a'] },
      ],
      [['graph.nodes[0]', 'cycle', '"a" -> "b" -> "a"']],
    );
  });

  it('reports a self-loop', () => {
    graphIssues([{ id: 'a', op: 'add', args: ['x', 'a'] }], [['graph.nodes[0]', 'cycle', '"a" -> "a"']]);
  });

  it('reports a cycle at its lowest-index node, whichever node the walk enters by', () => {
    graphIssues(
      [
        { id: 'u', op: 'exp', args: ['c'] },
        { id: 'a', op: 'exp', args: ['c'] },
        { id: 'b', op: 'neg', args: ['a'] },
        { id: 'c', op: 'neg', args: ['b'] },
      ],
      [['graph.nodes[1]', 'cycle', '"a" -> "c" -> "b" -> "a"']],
      ['u'],
    );
  });

  it('reports two separate cycles separately, and nothing for the nodes that use them', () => {
    graphIssues(
      [
        { id: 'a', op: 'exp', args: ['b'] },
        { id: 'b', op: 'neg', args: ['a'] },
        { id: 'use', op: 'add', args: ['a', 'c'] },
        { id: 'c', op: 'sin', args: ['c'] },
        { id: 'use2', op: 'exp', args: ['use'] },
      ],
      [
        ['graph.nodes[0]', '"a" -> "b" -> "a"'],
        ['graph.nodes[3]', '"c" -> "c"'],
      ],
    );
  });

  it('checks a 10,000-node cycle and a long chain behind a self-loop quickly, with a short message', () => {
    const n = 10_000;
    const ring = Array.from({ length: n }, (_, i) => ({ id: `n${i}`, op: 'exp', args: [`n${(i + 1) % n}`] }));
    const err = graphIssues(ring, [['graph.nodes[0]', 'cycle', '"n0" -> "n1"', '(10000 nodes)']]);
    expect(err.issues[0].message.length).toBeLessThan(300);
    // A self-loop at index 0 and a chain n1 <- n2 <- ... hanging off it: once quadratic.
    const chain = [
      { id: 'c', op: 'exp', args: ['c'] },
      ...Array.from({ length: n - 1 }, (_, i) => ({ id: `n${i}`, op: 'exp', args: [i === 0 ? 'c' : `n${i - 1}`] })),
    ];
    graphIssues(chain, [['graph.nodes[0]', '"c" -> "c"']]);
  });
});

describe('arity', () => {
  it.each([
    ['exp', ['x', 'x'], 'exp takes 1 argument, found 2'],
    ['add', ['x'], 'add takes 2 arguments, found 1'],
    ['add', undefined, 'add takes 2 arguments, found 0'],
    ['where', ['x', 'x'], 'where takes 3 arguments, found 2'],
    ['concat', [], 'concat takes one or more arguments, found 0'],
    ['stack', undefined, 'stack takes one or more arguments, found 0'],
  ])('%s with %j', (op, args, message) => {
    graphIssues([{ id: 'y', op, ...(args ? { args } : {}) }], [['graph.nodes[0].args', message]]);
  });

  it('rejects arguments to a leaf op', () => {
    graphIssues([{ id: 'y', op: 'const', value: 1, args: ['x'] }], [['graph.nodes[0].args', 'const takes no arguments, found 1']]);
  });
});

describe('shapes under broadcasting, at the offending argument', () => {
  it.each([
    ['add', ['m', 'x'], 'graph.nodes[0].args[1]', ['argument shape [2] does not broadcast with [2, 3]']],
    ['mul', ['x', 'm'], 'graph.nodes[0].args[1]', ['argument shape [2, 3] does not broadcast with [2]']],
    ['where', ['x', 'm', 0], 'graph.nodes[0].args[1]', ['argument shape [2, 3] does not broadcast with [2]']],
    ['where', ['m', 0, 'x'], 'graph.nodes[0].args[2]', ['argument shape [2] does not broadcast with [2, 3], [] (broadcast to [2, 3])']],
    ['dot', ['x', 'm'], 'graph.nodes[0].args[1]', ['1-D', 'shape [2, 3]']],
    ['matmul', ['m', 'm'], 'graph.nodes[0].args[1]', ['inner dimensions 3 and 2 differ']],
    ['matmul', [1, 'm'], 'graph.nodes[0].args[0]', ['scalar', 'rank 1 or more']],
    ['concat', ['m', 'x'], 'graph.nodes[0].args[1]', ['cannot concatenate [2] with [2, 3]']],
    ['stack', ['x', 'm'], 'graph.nodes[0].args[1]', ['cannot stack [2, 3] with [2]']],
  ] as const)('%s(%j)', (op, args, path, words) => {
    graphIssues([{ id: 'y', op, args }], [[path, `${op}:`, ...words]]);
  });

  it('broadcast_to a shape the argument does not broadcast to', () => {
    graphIssues(
      [{ id: 'y', op: 'broadcast_to', args: ['m'], shape: [3, 3] }],
      [['graph.nodes[0].shape', 'cannot broadcast [2, 3] to [3, 3]']],
    );
  });

  it('accepts shapes that broadcast: [2, 3] + [3] + []', () => {
    const r = check(
      graphOf([
        { id: 'r', op: 'index', args: ['m'], axis: 0, indices: [0] },
        { id: 'r3', op: 'reshape', args: ['r'], shape: [3] },
        { id: 'y', op: 'add', args: ['m', 'r3'] },
        { id: 'z', op: 'mul', args: ['y', 's'] },
      ]),
    );
    expect(r.outputs[0].shape).toEqual([2, 3]);
  });
});

describe('attribute values, at the attribute', () => {
  const cases: [string, Record<string, unknown>, string, string[]][] = [
    ['sum axes out of range', { op: 'sum', args: ['m'], axes: [2] }, 'axes', ['axis 2 is out of range for rank 2']],
    ['sum axes repeated', { op: 'sum', args: ['m'], axes: [1, -1] }, 'axes', ['name axis 1 twice']],
    ['max negative axis out of range', { op: 'max', args: ['x'], axes: [-2] }, 'axes', ['axis -2 is out of range for rank 1']],
    ['transpose perm too short', { op: 'transpose', args: ['m'], perm: [0] }, 'perm', ['has 1 entry', 'expected 2']],
    ['transpose perm out of range', { op: 'transpose', args: ['m'], perm: [0, 2] }, 'perm', ['entry 2 is out of range']],
    ['transpose perm repeated', { op: 'transpose', args: ['m'], perm: [0, 0] }, 'perm', ['names axis 0 twice']],
    [
      'reshape -1 not inferable',
      { op: 'reshape', args: ['m'], shape: [4, -1] },
      'shape',
      ['cannot infer the -1 in [4, -1] for 6 elements'],
    ],
    ['reshape two -1', { op: 'reshape', args: ['m'], shape: [-1, -1] }, 'shape', ['at most one -1', 'found [-1, -1]']],
    [
      'slice step 0',
      { op: 'slice', args: ['m'], start: [0, 0], stop: [2, 3], step: [1, 0] },
      'step[1]',
      ['expected a non-zero step, found 0'],
    ],
    ['slice too few starts', { op: 'slice', args: ['m'], start: [0], stop: [2, 3] }, 'start', ['expected 2 entries', 'found 1']],
    [
      'index out of range',
      { op: 'index', args: ['m'], axis: 1, indices: [0, 3] },
      'indices[1]',
      ['index 3 is out of range for axis 1 of length 3'],
    ],
    ['index negative out of range', { op: 'index', args: ['m'], axis: 1, indices: [-4] }, 'indices[0]', ['index -4 is out of range']],
    ['index axis out of range', { op: 'index', args: ['m'], axis: 2, indices: [0] }, 'axis', ['axis 2 is out of range for rank 2']],
    ['concat axis out of range', { op: 'concat', args: ['m', 'm'], axis: 3 }, 'axis', ['axis 3 is out of range for rank 2']],
    ['concat of scalars', { op: 'concat', args: ['s', 's'] }, 'axis', ['axis 0 is out of range for rank 0']],
    ['stack axis out of range', { op: 'stack', args: ['x', 'x'], axis: 2 }, 'axis', ['axis 2 is out of range']],
    ['range step 0', { op: 'range', stop: 3, step: 0 }, 'step', ['expected a non-zero step, found 0']],
    ['fill negative dimension', { op: 'fill', shape: [2, -1], value: 0 }, 'shape[1]', ['expected a non-negative dimension, found -1']],
    ['const ragged (short row)', { op: 'const', value: [[1, 2], [3]] }, 'value[1]', ['expected an array of length 2', 'found length 1']],
    [
      'const ragged (number for row)',
      { op: 'const', value: [[1, 2], 3] },
      'value[1]',
      ['expected an array of length 2', 'found the number 3'],
    ],
    ['const ragged (row for number)', { op: 'const', value: [1, [2]] }, 'value[1]', ['expected a number', 'found an array']],
  ];
  it.each(cases)('%s', (_name, node, attr, words) => {
    graphIssues([{ id: 'y', ...node }], [[`graph.nodes[0].${attr}`, `${node.op}:`, ...words]]);
  });

  // KNOWN (src/ops/shape.ts): reshape's shape() blames argument 0 (graph.nodes[0].args[0]) for a size
  // mismatch and broadcast_to blames argument 0 for a negative target dimension; the contract puts
  // bad attribute values at the attribute. Drop `.fails` once the op files are fixed.
  it('reshape to a different size is reported at the shape attribute', () => {
    graphIssues(
      [{ id: 'y', op: 'reshape', args: ['m'], shape: [4] }],
      [['graph.nodes[0].shape', 'cannot reshape [2, 3] (6 elements) to [4] (4 elements)']],
    );
  });
  it('broadcast_to a negative dimension is reported at the shape attribute', () => {
    graphIssues([{ id: 'y', op: 'broadcast_to', args: ['x'], shape: [-1, 2] }], [['graph.nodes[0].shape', '-1']]);
  });
  it('broadcast_to an incompatible shape is reported at the shape attribute', () => {
    graphIssues(
      [{ id: 'y', op: 'broadcast_to', args: ['m'], shape: [4, 3] }],
      [['graph.nodes[0].shape', 'cannot broadcast [2, 3] to [4, 3]']],
    );
  });

  it('accepts "NaN", "Infinity" and "-Infinity" in const and fill values', async () => {
    const graph = {
      inputs: [],
      nodes: [
        { id: 'c', op: 'const', value: ['NaN', 'Infinity', '-Infinity', 1.5] },
        { id: 'f', op: 'fill', shape: [2], value: '-Infinity' },
        { id: 'g', op: 'fill', shape: [], value: 'NaN' },
      ],
      outputs: ['c', 'f', 'g'],
    };
    const r = await evaluate({ graph, args: {} });
    expect(r.values).toEqual({ c: [NaN, Infinity, -Infinity, 1.5], f: [-Infinity, -Infinity], g: NaN });
  });
});

describe('graph structure (invalid_request)', () => {
  const bad = (graph: unknown, expected: Expected[]): DerivdError =>
    expectIssues(() => checkRequest('evaluate', { graph, args: {} }), 'invalid_request', expected);
  const withNode = (node: unknown): unknown => ({ inputs: [{ name: 'x', shape: [2] }], nodes: [node], outputs: ['x'] });
  const ALL_OPS = 'const, range, fill, neg, exp';

  it('graph not an object, or missing fields', () => {
    bad(null, [['graph', 'expected an object', 'null']]);
    bad([], [['graph', 'expected an object', 'array']]);
    bad({ nodes: [], outputs: ['x'] }, [['graph.inputs', 'expected an array', 'nothing']]);
    // nodes may be absent (a graph of formulas, or of inputs only), but not of another type
    bad({ inputs: [], nodes: {}, outputs: ['x'] }, [['graph.nodes', 'expected an array', 'object']]);
    bad({ inputs: [], nodes: [] }, [['graph.outputs', 'expected an array', 'nothing']]);
  });

  it('no outputs, unknown graph fields', () => {
    bad({ inputs: [], nodes: [], outputs: [] }, [['graph.outputs', 'at least 1 item']]);
    bad({ inputs: [], nodes: [], outputs: ['x'], edges: [], name: 'g' }, [
      ['graph.edges', 'unknown field "edges"', 'expected one of inputs, nodes, define, outputs, functions'],
      ['graph.name', 'unknown field "name"'],
    ]);
  });

  it('bad inputs: name, shape, extra fields', () => {
    bad({ inputs: [{ name: '', shape: [] }], nodes: [], outputs: ['x'] }, [['graph.inputs[0].name', 'expected a non-empty string']]);
    bad({ inputs: [{ name: 3, shape: [] }], nodes: [], outputs: ['x'] }, [['graph.inputs[0].name', 'expected a string', 'number']]);
    bad({ inputs: [{ name: 'x', shape: '2' }], nodes: [], outputs: ['x'] }, [['graph.inputs[0].shape', 'expected an array', 'string']]);
    bad({ inputs: [{ name: 'x', shape: [2, -1] }], nodes: [], outputs: ['x'] }, [['graph.inputs[0].shape[1]', '>=0']]);
    bad({ inputs: [{ name: 'x', shape: [1.5] }], nodes: [], outputs: ['x'] }, [['graph.inputs[0].shape[0]', 'expected an integer']]);
    bad({ inputs: [{ name: 'x' }], nodes: [], outputs: ['x'] }, [['graph.inputs[0].shape', 'expected an array', 'nothing']]);
    bad({ inputs: [{ name: 'x', shape: [], dtype: 'f64' }], nodes: [], outputs: ['x'] }, [
      ['graph.inputs[0].dtype', 'unknown field "dtype"', 'expected one of name, shape'],
    ]);
  });

  it('a node that is not an object', () => {
    bad(withNode(5), [['graph.nodes[0]', 'expected an object', 'number']]);
    bad(withNode(null), [['graph.nodes[0]', 'expected an object', 'null']]);
  });

  it('unknown, missing or non-string op, naming the found op and the known ones', () => {
    bad(withNode({ id: 'y', op: 'frobnicate', args: ['x'] }), [
      ['graph.nodes[0].op', 'unknown op "frobnicate"', `expected one of ${ALL_OPS}`, 'stop_gradient'],
    ]);
    bad(withNode({ id: 'y', op: 'slice_scatter', args: ['x'] }), [['graph.nodes[0].op', 'unknown op "slice_scatter"']]);
    bad(withNode({ id: 'y', args: ['x'] }), [['graph.nodes[0].op', 'missing op', `expected one of ${ALL_OPS}`]]);
    bad(withNode({ id: 'y', op: 7 }), [['graph.nodes[0].op', 'expected an op name', 'found the number 7']]);
  });

  it('node id missing or not a non-empty string', () => {
    bad(withNode({ op: 'exp', args: ['x'] }), [['graph.nodes[0].id', 'expected a string', 'nothing']]);
    bad(withNode({ id: '', op: 'exp', args: ['x'] }), [['graph.nodes[0].id', 'expected a non-empty string']]);
    bad(withNode({ id: ['y'], op: 'exp', args: ['x'] }), [['graph.nodes[0].id', 'expected a string', 'array']]);
  });

  it('node args of the wrong type, at the element', () => {
    bad(withNode({ id: 'y', op: 'exp', args: 'x' }), [['graph.nodes[0].args', 'expected an array', 'string']]);
    bad(withNode({ id: 'y', op: 'add', args: ['x', { ref: 'x' }] }), [
      ['graph.nodes[0].args[1]', 'expected a string or a number', 'found an object'],
    ]);
    bad(withNode({ id: 'y', op: 'add', args: ['x', null] }), [['graph.nodes[0].args[1]', 'expected a string or a number', 'found null']]);
    bad(withNode({ id: 'y', op: 'dot', args: ['x', [1, 2]] }), [
      ['graph.nodes[0].args[1]', 'expected a string or a number', 'found an array'],
    ]);
    bad(withNode({ id: 'y', op: 'add', args: ['x', Infinity] }), [
      ['graph.nodes[0].args[1]', 'a finite number', 'found the number Infinity'],
    ]);
    bad(withNode({ id: 'y', op: 'add', args: ['', 1] }), [['graph.nodes[0].args[0]', 'expected a non-empty string']]);
  });

  it("unknown attributes, at the attribute, with the op's attributes", () => {
    bad(withNode({ id: 'y', op: 'sum', args: ['x'], axis: 0, keepdim: true }), [
      ['graph.nodes[0].axis', 'unknown attribute "axis" of sum', 'expected one of axes, keepdims'],
      ['graph.nodes[0].keepdim', 'unknown attribute "keepdim" of sum'],
    ]);
    bad(withNode({ id: 'y', op: 'exp', args: ['x'], axes: [0] }), [
      ['graph.nodes[0].axes', 'unknown attribute "axes" of exp', 'exp takes no attributes'],
    ]);
    const proto = JSON.parse('{"id":"y","op":"exp","args":["x"],"__proto__":{"axes":[0]}}');
    bad(withNode(proto), [['graph.nodes[0].__proto__', 'unknown attribute "__proto__" of exp']]);
  });

  it('attributes of the wrong type, or missing', () => {
    bad(withNode({ id: 'y', op: 'sum', args: ['x'], axes: 0 }), [['graph.nodes[0].axes', 'expected an array', 'number']]);
    bad(withNode({ id: 'y', op: 'sum', args: ['x'], axes: [0.5] }), [['graph.nodes[0].axes[0]', 'expected an integer']]);
    bad(withNode({ id: 'y', op: 'sum', args: ['x'], keepdims: 'yes' }), [['graph.nodes[0].keepdims', 'expected a boolean', 'string']]);
    bad(withNode({ id: 'y', op: 'reshape', args: ['x'] }), [['graph.nodes[0].shape', 'expected an array', 'nothing']]);
    bad(withNode({ id: 'y', op: 'slice', args: ['x'], start: [0] }), [['graph.nodes[0].stop', 'expected an array', 'nothing']]);
    bad(withNode({ id: 'y', op: 'range', stop: Infinity }), [['graph.nodes[0].stop', 'expected a number', 'Infinity']]);
    bad(withNode({ id: 'y', op: 'fill', shape: [2.5], value: 0 }), [['graph.nodes[0].shape[0]', 'expected an integer']]);
  });

  it('a non-number in a const or fill value, at the element', () => {
    bad(withNode({ id: 'y', op: 'const', value: [1, 'abc'] }), [
      ['graph.nodes[0].value[1]', 'expected a number, "NaN", "Infinity", "-Infinity" or an array', 'found the string "abc"'],
    ]);
    bad(withNode({ id: 'y', op: 'const', value: [[1], [true]] }), [['graph.nodes[0].value[1][0]', 'expected a number', 'found a boolean']]);
    bad(withNode({ id: 'y', op: 'const', value: [1, null] }), [['graph.nodes[0].value[1]', 'found null']]);
    bad(withNode({ id: 'y', op: 'const' }), [['graph.nodes[0].value', 'expected a number', 'found nothing']]);
    bad(withNode({ id: 'y', op: 'fill', shape: [2], value: 'nan' }), [
      ['graph.nodes[0].value', 'expected a number, "NaN", "Infinity" or "-Infinity"', 'found the string "nan"'],
    ]);
    bad(withNode({ id: 'y', op: 'fill', shape: [2], value: [1] }), [['graph.nodes[0].value', 'expected a number', 'found an array']]);
  });

  it('reports every schema issue of a graph together', () => {
    bad(
      {
        inputs: [{ name: 'x', shape: [-1] }],
        nodes: [
          { id: 'a', op: 'nope' },
          { id: 'b', op: 'exp', args: [{}] },
          { id: 'c', op: 'sum', args: ['x'], axis: 1 },
        ],
        outputs: ['c'],
      },
      [
        ['graph.inputs[0].shape[0]', '>=0'],
        ['graph.nodes[0].op', 'unknown op "nope"'],
        ['graph.nodes[1].args[0]', 'found an object'],
        ['graph.nodes[2].axis', 'unknown attribute "axis"'],
      ],
    );
  });
});

describe('independent errors together, dependent ones once', () => {
  it('a graph with 3 independent errors yields exactly 3 issues', () => {
    graphIssues(
      [
        { id: 'y', op: 'add', args: ['m', 'x'] },
        { id: 'z', op: 'exp', args: ['nope'] },
        { id: 'w', op: 'sum', args: ['m'], axes: [5] },
        { id: 'ok', op: 'sum', args: ['m'] },
      ],
      [
        ['graph.nodes[0].args[1]', 'does not broadcast'],
        ['graph.nodes[1].args[0]', 'unknown reference "nope"'],
        ['graph.nodes[2].axes', 'axis 5 is out of range'],
      ],
      ['ok'],
    );
  });

  it('does not report nodes downstream of a broken node', () => {
    graphIssues(
      [
        { id: 'y', op: 'add', args: ['m', 'x'] },
        { id: 'z', op: 'exp', args: ['y'] },
        { id: 'w', op: 'matmul', args: ['z', 'z'] },
        { id: 'v', op: 'sum', args: ['w'], axes: [7] },
        { id: 'u', op: 'neg', args: ['q'] },
        { id: 't', op: 'add', args: ['u', 'v'] },
        { id: 'dup', op: 'exp', args: ['x'] },
        { id: 'dup', op: 'neg', args: ['x'] },
        { id: 'after', op: 'matmul', args: ['dup', 'm'] },
      ],
      [
        ['graph.nodes[0].args[1]', 'does not broadcast'],
        ['graph.nodes[4].args[0]', 'unknown reference "q"'],
        ['graph.nodes[7].id', 'duplicate id "dup"'],
      ],
      ['t', 'after'],
    );
  });

  it('reports structure, reference, cycle and shape errors in one error', () => {
    graphIssues(
      [
        { id: 'a', op: 'exp', args: ['x', 'x'] },
        { id: 'b', op: 'neg', args: ['c'] },
        { id: 'c', op: 'neg', args: ['b'] },
        { id: 'd', op: 'dot', args: ['x', 'm'] },
        { id: 'x', op: 'neg', args: ['m'] },
      ],
      [
        ['graph.nodes[0].args', 'exp takes 1 argument, found 2'],
        ['graph.nodes[1]', 'cycle'],
        ['graph.nodes[3].args[1]', 'dot: expected 1-D arguments'],
        ['graph.nodes[4].id', 'duplicate id "x"'],
        ['graph.outputs[1]', 'unknown output "e"'],
      ],
      ['d', 'e'],
    );
  });
});

describe('limits (limit_exceeded), refused before work', () => {
  const arrayBytes = (): number => process.memoryUsage().arrayBuffers;

  it('refuses 20,000 nodes against the default MAX_NODES in well under a second', () => {
    const nodes = Array.from({ length: 20_000 }, (_, i) => ({ id: `n${i}`, op: 'exp', args: [i === 0 ? 'x' : `n${i - 1}`] }));
    expectIssues(() => check(graphOf(nodes)), 'limit_exceeded', [
      ['graph.nodes', 'expected at most 10000 nodes (MAX_NODES)', 'found 20000'],
    ]);
  });

  it('counts nodes before anything else, even when they are invalid', () => {
    const nodes = Array.from({ length: 50_000 }, () => ({ bogus: true }));
    expectIssues(() => check(graphOf(nodes)), 'limit_exceeded', [['graph.nodes', 'found 50000']]);
  });

  it('honours a configured maxNodes', () => {
    const nodes = [
      { id: 'a', op: 'exp', args: ['x'] },
      { id: 'b', op: 'exp', args: ['a'] },
    ];
    expectIssues(() => check(graphOf(nodes), { ...DEFAULT_LIMITS, maxNodes: 1, maxElements: 100 }), 'limit_exceeded', [
      ['graph.nodes', 'at most 1 nodes', 'found 2'],
    ]);
    expect(() => check(graphOf(nodes), { ...DEFAULT_LIMITS, maxNodes: 2, maxElements: 100 })).not.toThrow();
  });

  it('refuses a 10^8-element fill without allocating it', () => {
    const before = arrayBytes();
    expectIssues(() => check(graphOf([{ id: 'f', op: 'fill', shape: [10_000, 10_000], value: 1 }])), 'limit_exceeded', [
      ['graph.nodes[0]', 'result shape [10000, 10000] has 100000000 elements', 'more than MAX_ELEMENTS (10000000)'],
    ]);
    expect(arrayBytes() - before).toBeLessThan(50e6);
  });

  it('refuses huge ranges, broadcasts and outer products at the node', () => {
    expectIssues(() => check(graphOf([{ id: 'r', op: 'range', stop: 1e12 }])), 'limit_exceeded', [
      ['graph.nodes[0]', 'result shape [1000000000000]'],
    ]);
    const nodes = [
      { id: 'r', op: 'fill', shape: [5000], value: 1 },
      { id: 'o', op: 'outer', args: ['r', 'r'] },
      { id: 'b', op: 'broadcast_to', args: ['s'], shape: [4000, 4000] },
    ];
    expectIssues(() => check(graphOf(nodes, ['o', 'b'])), 'limit_exceeded', [
      ['graph.nodes[1]', '[5000, 5000]', '25000000 elements'],
      ['graph.nodes[2]', '[4000, 4000]'],
    ]);
  });

  it('refuses an input declared over MAX_ELEMENTS, with a configured limit', () => {
    const graph = { inputs: [{ name: 'x', shape: [10, 11] }], nodes: [], outputs: ['x'] };
    expectIssues(
      () => checkRequest('evaluate', { graph, args: {} }, { ...DEFAULT_LIMITS, maxNodes: 10, maxElements: 100 }),
      'limit_exceeded',
      [['graph.inputs[0].shape', 'shape [10, 11] has 110 elements', 'more than MAX_ELEMENTS (100)']],
    );
  });

  it('reports a limit together with graph errors as invalid_graph, and skips what depends on it', () => {
    const nodes = [
      { id: 'f', op: 'fill', shape: [1e9], value: 0 },
      { id: 'g', op: 'sum', args: ['f'], axes: [3] },
      { id: 'h', op: 'exp', args: ['zz'] },
    ];
    expectIssues(() => check(graphOf(nodes)), 'invalid_graph', [
      ['graph.nodes[2].args[0]', 'unknown reference "zz"'],
      ['graph.nodes[0]', 'MAX_ELEMENTS'],
    ]);
  });

  it('refuses ranks over MAX_RANK (64) without recursing: inputs, results, const nesting', async () => {
    const ones = (n: number): number[] => Array.from({ length: n }, () => 1);
    const deepText = (n: number): string => `${'['.repeat(n)}1.5${']'.repeat(n)}`;
    const inputs = [
      { name: 'x', shape: ones(65) },
      { name: 'ok', shape: ones(64) },
    ];
    // The node using the oversized input is skipped, not reported again.
    expectIssues(
      () => checkRequest('evaluate', { graph: { inputs, nodes: [{ id: 'y', op: 'exp', args: ['x'] }], outputs: ['y'] }, args: {} }),
      'limit_exceeded',
      [['graph.inputs[0].shape', 'rank 65', 'more than MAX_RANK (64)']],
    );
    expectIssues(() => check(graphOf([{ id: 'f', op: 'fill', shape: ones(100_000), value: 0 }])), 'limit_exceeded', [
      ['graph.nodes[0]', 'result has rank 100000', 'MAX_RANK (64)'],
    ]);
    for (const n of [65, 100_000]) {
      const request = JSON.parse(
        `{"graph": {"inputs": [], "nodes": [{"id": "c", "op": "const", "value": ${deepText(n)}}], "outputs": ["c"]}, "args": {}}`,
      );
      expectIssues(() => checkRequest('evaluate', request), 'invalid_request', [
        [`graph.nodes[0].value${'[0]'.repeat(64)}`, 'at most 64 levels of nested arrays'],
      ]);
    }
    const cyclic: unknown[] = [1];
    cyclic.push(cyclic);
    expectIssues(() => check(graphOf([{ id: 'c', op: 'const', value: cyclic }])), 'invalid_request', [
      [`graph.nodes[0].value${'[1]'.repeat(64)}`, 'MAX_RANK'],
    ]);
    const r = await evaluate(
      JSON.parse(
        `{"graph": {"inputs": [], "nodes": [{"id": "c", "op": "const", "value": ${deepText(64)}}], "outputs": ["c"]}, "args": {}}`,
      ),
    );
    let v: unknown = r.values.c;
    for (let i = 0; i < 64; i++) v = (v as unknown[])[0];
    expect(v).toBe(1.5);
  });

  it('goes through the public API options', async () => {
    const graph = graphOf([{ id: 'y', op: 'outer', args: ['x', 'x'] }]);
    const args = argsFor(graph.inputs);
    await expect(evaluate({ graph, args }, { limits: { maxElements: 3 } })).rejects.toMatchObject({ kind: 'limit_exceeded' });
    await expect(evaluate({ graph, args }, { limits: { maxNodes: 0 } })).rejects.toMatchObject({
      kind: 'limit_exceeded',
      issues: [{ path: 'graph.nodes' }],
    });
    await expect(evaluate({ graph, args }, { limits: { maxElements: 6 } })).resolves.toMatchObject({
      values: {
        y: [
          [0, 0],
          [0, 0],
        ],
      },
    });
  });
});

describe('a range too long to hold', () => {
  it('is a limit, like any other oversized tensor', () => {
    expectIssues(() => check(graphOf([{ id: 'y', op: 'range', stop: 1e300 }])), 'limit_exceeded', [
      ['graph.nodes[0]', 'more than MAX_ELEMENTS'],
    ]);
  });
});

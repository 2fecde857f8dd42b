/**
 * Request validation: the envelope around a graph (arguments, constant, outputs,
 * mode, tangents, cotangents, vector) and the contract for bad input through the
 * public API: a DerivdError naming what is wrong and where, all independent issues at
 * once, never another exception, a hang or a wrongly shaped result (property tests
 * with fast-check). Names are plain data: `__proto__`, `constructor` and `toString`
 * work like any other name, and odd names are quoted in paths (`args["a b"]`).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import * as api from '../index.js';
import { DerivdError, type ErrorKind } from './errors.js';
import { DEFAULT_LIMITS } from './limits.js';
import { checkRequest } from './request.js';
import { OPERATIONS, type Operation, type NodeGraph } from './schema.js';
import { caught, expectIssues, type Expected } from '../../test/helpers/issues.js';
import { expectClose } from '../../test/helpers/numeric.js';

const seed: NodeGraph = JSON.parse(readFileSync(new URL('../../test/fixtures/seed-rs.graph.json', import.meta.url), 'utf8'));
const scalarSeed: NodeGraph = {
  ...seed,
  nodes: [...seed.nodes, { id: 'r2', op: 'square', args: ['r'] }, { id: 'loss', op: 'sum', args: ['r2'] }],
  outputs: ['loss'],
};
const d = Array.from({ length: 21 }, (_, i) => Math.cos(i) / 2);

/** x: [2], k: [] -> y = x * k: [2], s = sum(y): []. */
const graph: NodeGraph = {
  inputs: [
    { name: 'x', shape: [2] },
    { name: 'k', shape: [] },
  ],
  nodes: [
    { id: 'y', op: 'mul', args: ['x', 'k'] },
    { id: 's', op: 'sum', args: ['y'] },
  ],
  outputs: ['y', 's'],
};
const args = { x: [1, 2], k: 3 };
/** A valid request on `graph` for each operation. */
const valid: Record<Operation, Record<string, unknown>> = {
  evaluate: { graph, args },
  jacobian: { graph, args },
  gradient: { graph, args, outputs: ['s'] },
  jvp: { graph, args, tangents: { x: [1, 0], k: 0 } },
  vjp: { graph, args, cotangents: { y: [1, 0], s: 0 } },
  hessian: { graph, args, outputs: ['s'] },
  hvp: { graph, args, outputs: ['s'], vector: { x: [1, 0], k: 0 } },
};

/** The modes the API passes: auto and the registered engines. */
const MODES = ['auto', ...api.engineNames()];
const rejects = (op: Operation, request: unknown, kind: ErrorKind, expected: Expected[]): DerivdError =>
  expectIssues(() => checkRequest(op, request, DEFAULT_LIMITS, MODES), kind, expected);

describe('the envelope (invalid_request)', () => {
  it.each([null, undefined, 3, 'graph', true, []])('rejects %j as a request, at the root', (request) => {
    for (const op of OPERATIONS) rejects(op, request, 'invalid_request', [['', 'expected an object']]);
  });

  it('reports missing graph and args together', () => {
    rejects('evaluate', {}, 'invalid_request', [
      ['graph', 'expected an object', 'nothing'],
      ['args', 'missing', 'expected an object keyed by name'],
    ]);
  });

  it('rejects args that are not a name-keyed object', () => {
    rejects('evaluate', { graph, args: [1, 2] }, 'invalid_request', [['args', 'expected an object keyed by name', 'found an array']]);
    rejects('evaluate', { graph, args: 'x' }, 'invalid_request', [['args', 'found the string "x"']]);
    rejects('evaluate', { graph, args: { shape: [2], data: new Float64Array(2) } }, 'invalid_request', [['args', 'found a packed tensor']]);
  });

  it('rejects unknown fields, and fields of other operations, at the field', () => {
    rejects('evaluate', { graph, args, foo: 1 }, 'invalid_request', [
      ['foo', 'unknown field "foo"', 'expected one of graph, args, constant, mode, check, outputs, batched, encoding'],
    ]);
    rejects('evaluate', { graph, args, tangents: { x: [1, 1] } }, 'invalid_request', [['tangents', 'unknown field "tangents"']]);
    rejects('jvp', { graph, args, tangents: { x: [1, 1], k: 1 }, vector: {} }, 'invalid_request', [
      ['vector', 'unknown field "vector"', 'tangents'],
    ]);
  });

  it('requires tangents, cotangents and vector for jvp, vjp and hvp', () => {
    rejects('jvp', { graph, args }, 'invalid_request', [['tangents', 'missing', 'expected an object keyed by name']]);
    rejects('vjp', { graph, args }, 'invalid_request', [['cotangents', 'missing']]);
    rejects('hvp', { graph, args, outputs: ['s'], vector: [1, 2] }, 'invalid_request', [['vector', 'found an array']]);
  });

  it('rejects wrongly typed optional fields', () => {
    rejects('evaluate', { graph, args, constant: 'k', check: 'yes', outputs: [], mode: 3 }, 'invalid_request', [
      ['constant', 'expected an array', 'string'],
      ['check', 'expected a boolean', 'string'],
      ['outputs', 'at least 1 item'],
      ['mode', 'expected a string', 'number'],
    ]);
    rejects('evaluate', { graph, args, constant: [1], outputs: [''] }, 'invalid_request', [
      ['constant[0]', 'expected a string', 'number'],
      ['outputs[0]', 'expected a non-empty string'],
    ]);
  });

  it('rejects an unknown mode for every operation, naming the known ones', () => {
    for (const op of OPERATIONS) {
      rejects(op, { ...valid[op], mode: 'bogus' }, 'invalid_request', [
        ['mode', 'unknown mode "bogus"', 'expected one of "auto", "forward", "reverse", "fd"'],
      ]);
    }
    rejects('evaluate', { graph, args, mode: '' }, 'invalid_request', [['mode', 'expected a non-empty string']]);
  });

  it('reports an unknown mode with the other schema issues, and before graph issues', () => {
    const broken = { ...graph, nodes: [{ id: 'y', op: 'frob', args: ['x'] }] };
    rejects('evaluate', { graph: broken, args, mode: 'bogus' }, 'invalid_request', [
      ['graph.nodes[0].op', 'unknown op "frob"'],
      ['mode', 'unknown mode "bogus"'],
    ]);
    const cyclic = { ...graph, nodes: [{ id: 'y', op: 'exp', args: ['y'] }], outputs: ['y'] };
    rejects('evaluate', { graph: cyclic, args, mode: 'bogus' }, 'invalid_request', [['mode', 'unknown mode']]);
  });

  it('accepts every built-in mode', async () => {
    for (const mode of ['auto', 'forward', 'reverse', 'fd']) {
      const r = await api.jacobian({ graph, args, mode });
      expectClose(r.jacobian!.s.k as number, 3, mode === 'fd' ? 1e-7 : 1e-15, `ds/dk (${mode})`);
    }
  });

  it('is rejected by the public API with the same error, asynchronously', async () => {
    for (const op of OPERATIONS) {
      await expect(api.operations[op]({ ...valid[op], mode: 'bogus' })).rejects.toMatchObject({
        kind: 'invalid_request',
        issues: [{ path: 'mode' }],
      });
      await expect(api.operations[op](valid[op])).resolves.toHaveProperty('values');
      await expect(api.operations[op](null)).rejects.toMatchObject({ kind: 'invalid_request', issues: [{ path: '' }] });
    }
  });
});

describe('arguments', () => {
  it('reports missing and extra arguments together', () => {
    rejects('evaluate', { graph, args: { x: [1, 2], q: 1, r: [] } }, 'invalid_graph', [
      ['args.k', 'missing argument "k" of shape []'],
      ['args.q', 'unexpected argument "q"', 'expected one of "x", "k"'],
      ['args.r', 'unexpected argument "r"'],
    ]);
  });

  it('rejects values whose shape differs from the declared one, at the first difference', () => {
    const m = {
      inputs: [
        { name: 'm', shape: [2, 3] },
        { name: 'k', shape: [] },
      ],
      nodes: [],
      outputs: ['m'],
    };
    const cases: [unknown, unknown, Expected][] = [
      [
        [
          [1, 2, 3],
          [4, 5],
        ],
        0,
        ['args.m[1]', 'expected an array of length 3 (shape [2, 3])', 'found length 2'],
      ],
      [[1, 2], 0, ['args.m[0]', 'expected an array of length 3', 'found the number 1']],
      [[[1, 2, 3]], 0, ['args.m', 'expected an array of length 2', 'found length 1']],
      [5, 0, ['args.m', 'expected an array of length 2', 'found the number 5']],
      [
        [
          [1, 2, [3]],
          [4, 5, 6],
        ],
        0,
        ['args.m[0][2]', 'expected a number (shape [2, 3] has rank 2)', 'found an array'],
      ],
      [
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        [0],
        ['args.k', 'expected a number (shape [] has rank 0)', 'found an array'],
      ],
    ];
    for (const [mv, kv, want] of cases) rejects('evaluate', { graph: m, args: { m: mv, k: kv } }, 'invalid_graph', [want]);
  });

  it('rejects a non-number element (invalid_request), at the element', () => {
    const cases: [unknown, Expected][] = [
      [
        [1, 'a'],
        ['args.x[1]', 'expected a number or "NaN", "Infinity", "-Infinity"', 'found the string "a"'],
      ],
      [
        [true, 1],
        ['args.x[0]', 'found a boolean'],
      ],
      [
        [1, null],
        ['args.x[1]', 'found null'],
      ],
      [
        [1, {}],
        ['args.x[1]', 'found an object'],
      ],
      [
        [1, 'nan'],
        ['args.x[1]', 'found the string "nan"'],
      ],
      [null, ['args.x', 'expected an array of length 2', 'found null']],
      [{ a: 1 }, ['args.x', 'found an object']],
    ];
    for (const [xv, want] of cases) rejects('evaluate', { graph, args: { x: xv, k: 1 } }, 'invalid_request', [want]);
  });

  it('accepts "NaN", "Infinity" and "-Infinity" strings, and they reach the result', async () => {
    const r = await api.evaluate({ graph, args: { x: ['NaN', 'Infinity'], k: '-Infinity' } });
    expect(r.values).toEqual({ y: [NaN, -Infinity], s: NaN });
    const j = await api.jacobian({ graph, args: { x: [1, 'Infinity'], k: 2 }, outputs: ['y'], constant: ['k'] });
    expect(j.values.y).toEqual([2, Infinity]);
    expect(j.jacobian!.y.x).toEqual([
      [2, 0],
      [0, 2],
    ]);
  });

  it('accepts the packed {shape, data: Float64Array} form, giving the same results', async () => {
    const packed = { x: { shape: [2], data: Float64Array.of(1, 2) }, k: { shape: [], data: Float64Array.of(3) } };
    expect((await api.jacobian({ graph, args: packed })).jacobian).toEqual((await api.jacobian({ graph, args })).jacobian);
    const tangents = { x: { shape: [2], data: Float64Array.of(1, 0) }, k: 0 };
    expect((await api.jvp({ graph, args: packed, tangents })).jvp).toEqual({ y: [3, 0], s: 3 });
  });

  it('checks packed arguments: length, shape, shape type, data type', () => {
    const cases: [unknown, ErrorKind, Expected][] = [
      [{ shape: [2], data: new Float64Array(3) }, 'invalid_graph', ['args.x.data', 'expected 2 elements for shape [2]', 'found 3']],
      [{ shape: [1, 2], data: new Float64Array(2) }, 'invalid_graph', ['args.x', 'expected shape [2]', 'found [1, 2]']],
      [{ shape: [], data: new Float64Array(1) }, 'invalid_graph', ['args.x', 'expected shape [2]', 'found []']],
      [{ shape: 'two', data: new Float64Array(2) }, 'invalid_request', ['args.x.shape', 'expected an array of non-negative integers']],
      [{ shape: [-2], data: new Float64Array(2) }, 'invalid_request', ['args.x.shape', 'non-negative integers']],
      [{ shape: [2], data: new Float32Array(2) }, 'invalid_request', ['args.x.data', 'expected a Float64Array', 'found a Float32Array']],
      [{ shape: [2], data: [1, 2] }, 'invalid_request', ['args.x', 'found an object']],
      [new Float64Array(2), 'invalid_request', ['args.x', 'found a Float64Array']],
    ];
    for (const [xv, kind, want] of cases) rejects('evaluate', { graph, args: { x: xv, k: 1 } }, kind, [want]);
  });
});

describe('odd names are quoted in paths', () => {
  const odd: NodeGraph = {
    inputs: [
      { name: 'a b', shape: [2] },
      { name: '0', shape: [] },
      { name: 'say "hi"', shape: [] },
    ],
    nodes: [
      { id: 'out put', op: 'mul', args: ['a b', '0'] },
      { id: 'é', op: 'add', args: ['out put', 'say "hi"'] },
    ],
    outputs: ['out put', 'é'],
  };

  it('evaluates and differentiates with odd names as keys', async () => {
    const r = await api.jacobian({ graph: odd, args: { 'a b': [1, 2], '0': 3, 'say "hi"': 1 } });
    expect(r.values).toEqual({ 'out put': [3, 6], é: [4, 7] });
    expect(r.jacobian!.é['0']).toEqual([1, 2]);
  });

  it('quotes them in argument, tangent and cotangent paths', () => {
    rejects('evaluate', { graph: odd, args: { 'a b': [1, 'x'], '0': 3, 'say "hi"': 1 } }, 'invalid_request', [
      ['args["a b"][1]', 'found the string "x"'],
    ]);
    rejects('evaluate', { graph: odd, args: { 'a b': [1, 2], 'say "hi"': 1, 'c-d': 2 } }, 'invalid_graph', [
      ['args["0"]', 'missing argument "0" of shape []'],
      ['args["c-d"]', 'unexpected argument "c-d"'],
    ]);
    rejects('evaluate', { graph: odd, args: { 'a b': [1, 2], '0': [3], 'say "hi"': 1 } }, 'invalid_graph', [
      ['args["0"]', 'expected a number'],
    ]);
    rejects('jvp', { graph: odd, args: { 'a b': [1, 2], '0': 3, 'say "hi"': 1 }, tangents: { 'a b': [1], '0': 1 } }, 'invalid_graph', [
      ['tangents["a b"]', 'found length 1'],
      ['tangents["say \\"hi\\""]', 'missing tangent "say \\"hi\\"" of shape []'],
    ]);
    rejects(
      'vjp',
      { graph: odd, args: { 'a b': [1, 2], '0': 3, 'say "hi"': 1 }, cotangents: { 'out put': [1, 1], é: 1 } },
      'invalid_graph',
      [['cotangents["é"]', 'expected an array of length 2']],
    );
  });
});

describe('constant and outputs', () => {
  it('rejects constants naming no input (nodes included), at the entry', () => {
    rejects('jacobian', { graph, args, constant: ['k', 'q', 'y'] }, 'invalid_graph', [
      ['constant[1]', '"q" names no input', 'expected one of "x", "k"'],
      ['constant[2]', '"y" names no input'],
    ]);
  });

  it('rejects outputs that are not graph outputs, and duplicates', () => {
    const g = { ...graph, outputs: ['s'] };
    rejects('evaluate', { graph: g, args, outputs: ['y', 's', 's', 'zz'] }, 'invalid_graph', [
      ['outputs[0]', '"y" is not an output of the graph', 'expected one of "s"'],
      ['outputs[2]', 'duplicate output "s"'],
      ['outputs[3]', '"zz" is not an output of the graph'],
    ]);
  });

  it('restricts values and derivatives to the requested outputs, and skips constant inputs', async () => {
    const r = await api.jacobian({ graph, args, outputs: ['s'], constant: ['k'] });
    expect(Object.keys(r.values)).toEqual(['s']);
    expect(r.jacobian).toEqual({ s: { x: [3, 3] } });
  });
});

describe('one scalar output for gradient, hessian and hvp', () => {
  it.each(['gradient', 'hessian'] as const)('%s with two outputs, one not scalar', (op) => {
    rejects(op, { graph, args }, 'invalid_graph', [
      ['graph.outputs', `${op} needs exactly one scalar output, found 2`, 'choose one with "outputs"'],
      ['graph.outputs[0]', `${op} needs a scalar output (shape [])`, '"y" has shape [2]'],
    ]);
  });

  it('non-scalar output chosen with outputs, or the only output', () => {
    rejects('gradient', { graph, args, outputs: ['y'] }, 'invalid_graph', [
      ['outputs[0]', 'gradient needs a scalar output', '"y" has shape [2]'],
    ]);
    rejects('hvp', { graph, args, outputs: ['s', 'y'], vector: { x: [1, 1], k: 1 } }, 'invalid_graph', [
      ['outputs', 'hvp needs exactly one scalar output, found 2'],
      ['outputs[1]', '"y" has shape [2]'],
    ]);
    rejects('hessian', { graph: { ...graph, outputs: ['y'] }, args }, 'invalid_graph', [
      ['graph.outputs[0]', 'hessian needs a scalar output'],
    ]);
  });

  it('accepts a scalar output chosen with outputs', async () => {
    const r = await api.gradient({ graph, args, outputs: ['s'] });
    expect(r.gradient).toEqual({ x: [3, 3], k: 3 });
    const h = await api.hvp({ graph, args, outputs: ['s'], vector: { x: [1, 0], k: 1 } });
    expect(h.hvp).toEqual({ x: [1, 1], k: 1 });
  });
});

describe('tangents, cotangents and vector', () => {
  it('tangents: missing, extra, for a constant input, wrong shape', () => {
    rejects('jvp', { graph, args, tangents: { x: [1, 1, 1], z: 1 } }, 'invalid_graph', [
      ['tangents.k', 'missing tangent "k" of shape []'],
      ['tangents.z', 'unexpected tangent "z"', 'expected one of "x", "k"'],
      ['tangents.x', 'expected an array of length 2', 'found length 3'],
    ]);
    rejects('jvp', { graph, args, constant: ['k'], tangents: { x: [1, 1], k: 1 } }, 'invalid_graph', [
      ['tangents.k', 'unexpected tangent "k"', 'input "k" is constant', 'expected one of "x"'],
    ]);
    rejects('jvp', { graph, args, tangents: { x: [1, 'one'], k: 1 } }, 'invalid_request', [['tangents.x[1]', 'found the string "one"']]);
  });

  it('vector: missing, extra, wrong shape', () => {
    rejects('hvp', { graph, args, outputs: ['s'], vector: { x: [[1], [1]], q: 2 } }, 'invalid_graph', [
      ['vector.k', 'missing vector entry "k" of shape []'],
      ['vector.q', 'unexpected vector entry "q"'],
      ['vector.x[0]', 'expected a number (shape [2] has rank 1)', 'found an array'],
    ]);
    rejects('hvp', { graph, args, outputs: ['s'], constant: ['x', 'k'], vector: { k: 1 } }, 'invalid_graph', [
      ['vector.k', 'input "k" is constant', 'expected none'],
    ]);
  });

  it('cotangents: missing, extra, for an output not requested, wrong shape', () => {
    rejects('vjp', { graph, args, cotangents: { y: 1, x: [1, 1] } }, 'invalid_graph', [
      ['cotangents.s', 'missing cotangent "s" of shape []'],
      ['cotangents.x', 'unexpected cotangent "x"', 'expected one of "y", "s"'],
      ['cotangents.y', 'expected an array of length 2 (shape [2])', 'found the number 1'],
    ]);
    rejects('vjp', { graph, args, outputs: ['s'], cotangents: { s: 1, y: [1, 1] } }, 'invalid_graph', [
      ['cotangents.y', 'output "y" is not among the requested outputs', 'expected one of "s"'],
    ]);
  });
});

describe('derivative blocks against MAX_ELEMENTS (limit_exceeded)', () => {
  const wide: NodeGraph = {
    inputs: [{ name: 'v', shape: [100] }],
    nodes: [
      { id: 'e', op: 'exp', args: ['v'] },
      { id: 't', op: 'sum', args: ['e'] },
    ],
    outputs: ['e', 't'],
  };
  const v = { shape: [100], data: new Float64Array(100) };
  const limits = { ...DEFAULT_LIMITS, maxNodes: 100, maxElements: 1000 };

  it('refuses a Jacobian block larger than the limit before computing it', () => {
    expectIssues(() => checkRequest('jacobian', { graph: wide, args: { v } }, limits), 'limit_exceeded', [
      [
        'graph',
        'the Jacobian block of output "e" with respect to input "v"',
        'shape [100, 100] (10000 elements)',
        'more than MAX_ELEMENTS (1000)',
      ],
    ]);
    expect(() => checkRequest('jacobian', { graph: wide, args: { v }, outputs: ['t'] }, limits)).not.toThrow();
    expect(() => checkRequest('vjp', { graph: wide, args: { v }, cotangents: { e: v, t: 1 } }, limits)).not.toThrow();
  });

  it('refuses a Jacobian of many small blocks whose total is over the limit, quickly', () => {
    const n = 4000;
    const many: NodeGraph = {
      inputs: Array.from({ length: n }, (_, i) => ({ name: `i${i}`, shape: [] })),
      nodes: [],
      outputs: Array.from({ length: n }, (_, i) => `i${i}`),
    };
    const manyArgs = Object.fromEntries(many.inputs.map((x) => [x.name, 1]));
    expectIssues(() => checkRequest('jacobian', { graph: many, args: manyArgs }), 'limit_exceeded', [
      ['graph', 'the Jacobian would have 16000000 elements in all (4000 × 4000 blocks)', 'more than MAX_ELEMENTS (10000000)'],
    ]);
    expect(() => checkRequest('jacobian', { graph: many, args: manyArgs, outputs: ['i0', 'i1'] })).not.toThrow();
  });

  it('lists at most 20 oversized blocks and counts the rest', () => {
    const g: NodeGraph = {
      inputs: [{ name: 'v', shape: [100] }],
      nodes: Array.from({ length: 30 }, (_, i) => ({ id: `e${i}`, op: 'exp', args: ['v'] })),
      outputs: Array.from({ length: 30 }, (_, i) => `e${i}`),
    };
    const err = caught(() => checkRequest('jacobian', { graph: g, args: { v } }, limits));
    expect(err.kind).toBe('limit_exceeded');
    expect(err.issues).toHaveLength(21);
    expect(err.issues[20]).toEqual({ path: 'graph', message: 'and 10 more Jacobian blocks over MAX_ELEMENTS (1000)' });
  });

  it('refuses a Hessian block larger than the limit', async () => {
    expectIssues(() => checkRequest('hessian', { graph: wide, args: { v }, outputs: ['t'] }, limits), 'limit_exceeded', [
      ['graph', 'the Hessian block for inputs "v" and "v"', '(10000 elements)'],
    ]);
    await expect(api.hessian({ graph: wide, args: { v }, outputs: ['t'] }, { limits: { maxElements: 9999 } })).rejects.toMatchObject({
      kind: 'limit_exceeded',
    });
    // the whole result counts: 10000 Hessian entries and the one value
    await expect(api.hessian({ graph: wide, args: { v }, outputs: ['t'] }, { limits: { maxElements: 10000 } })).rejects.toMatchObject({
      kind: 'limit_exceeded',
      issues: [{ path: 'outputs' }],
    });
    const h = await api.hessian({ graph: wide, args: { v }, outputs: ['t'] }, { limits: { maxElements: 10001 } });
    expect((h.hessian!.v.v as number[][])[3][3]).toBe(1);
  });
});

describe('independent issues of one request come together', () => {
  it('graph, argument, constant and output issues in one invalid_graph error', () => {
    const broken = {
      inputs: [
        { name: 'x', shape: [2] },
        { name: 'big', shape: [100_000, 100_000] },
      ],
      nodes: [{ id: 'y', op: 'exp', args: ['y'] }],
      outputs: ['y', 'x'],
    };
    rejects('evaluate', { graph: broken, args: { x: [1], big: 1, z: 3 }, constant: ['q'], outputs: ['x', 'w'] }, 'invalid_graph', [
      ['graph.nodes[0]', 'cycle'],
      ['graph.inputs[1].shape', 'MAX_ELEMENTS'],
      ['args.x', 'found length 1'],
      ['args.z', 'unexpected argument "z"'],
      ['constant[0]', '"q" names no input'],
      ['outputs[1]', '"w" is not an output'],
    ]);
  });

  it('a wrong tangent with a broken graph', () => {
    const broken = {
      ...graph,
      nodes: [
        { id: 'y', op: 'mul', args: ['x', 'nope'] },
        { id: 's', op: 'sum', args: ['y'] },
      ],
    };
    rejects('jvp', { graph: broken, args, tangents: { x: [1] } }, 'invalid_graph', [
      ['graph.nodes[0].args[1]', 'unknown reference "nope"'],
      ['tangents.x', 'found length 1'],
      ['tangents.k', 'missing tangent "k"'],
    ]);
  });
});

describe('__proto__, constructor and toString are ordinary names', () => {
  const protoGraph: NodeGraph = {
    inputs: [
      { name: '__proto__', shape: [2] },
      { name: 'toString', shape: [] },
    ],
    nodes: [
      { id: 'constructor', op: 'mul', args: ['__proto__', 'toString'] },
      { id: 'hasOwnProperty', op: 'sum', args: ['constructor'] },
      { id: 'valueOf', op: 'exp', args: ['toString'] },
    ],
    outputs: ['constructor', 'hasOwnProperty', 'valueOf'],
  };
  /** As the service receives it: `__proto__` is an own key only when it comes from JSON. */
  const wire = (extra: string): unknown =>
    JSON.parse(`{"graph": ${JSON.stringify(protoGraph)}, "args": {"__proto__": [1, 2], "toString": 3}${extra}}`);
  const own = (o: object, keys: string[]): void => {
    expect(Object.keys(o)).toEqual(keys);
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
  };

  it('evaluates, with the names as own keys of the result', async () => {
    const r = await api.evaluate(wire(''));
    expect(r.values).toEqual({ constructor: [3, 6], hasOwnProperty: 9, valueOf: Math.exp(3) });
    own(r.values, ['constructor', 'hasOwnProperty', 'valueOf']);
    expect(({} as Record<string, unknown>).constructor).toBe(Object);
  });

  it('differentiates (jacobian, gradient, jvp, vjp) with correct values and own keys', async () => {
    for (const mode of ['forward', 'reverse']) {
      const r = await api.jacobian(wire(`, "mode": "${mode}"`));
      // Plain records keyed by the ids: index them as data, not as Object's members.
      const jac = r.jacobian as Record<string, Record<string, unknown>>;
      own(jac, ['constructor', 'hasOwnProperty', 'valueOf']);
      own(jac['constructor'], ['__proto__', 'toString']);
      expect(jac['constructor']['__proto__']).toEqual([
        [3, 0],
        [0, 3],
      ]);
      expect(jac['constructor']['toString']).toEqual([1, 2]);
      expect(jac['hasOwnProperty']['__proto__']).toEqual([3, 3]);
      expect(jac['hasOwnProperty']['toString']).toBe(3);
      expect(jac['valueOf']['__proto__']).toEqual([0, 0]);
      expectClose(jac['valueOf']['toString'] as number, Math.exp(3), 1e-15);
    }
    const g = await api.gradient(wire(', "outputs": ["hasOwnProperty"], "constant": ["toString"]'));
    own(g.gradient!, ['__proto__']);
    expect(g.gradient!.__proto__).toEqual([3, 3]);
    const t = await api.jvp(wire(', "tangents": {"__proto__": [1, 0], "toString": 0}'));
    expect(t.jvp).toEqual({ constructor: [3, 0], hasOwnProperty: 3, valueOf: 0 });
    const v = await api.vjp(wire(', "outputs": ["constructor"], "cotangents": {"constructor": [1, 1]}'));
    own(v.vjp!, ['__proto__', 'toString']);
    expect(v.vjp!.__proto__).toEqual([3, 3]);
    expect(v.vjp!.toString).toBe(3);
  });

  it('a node with id __proto__, and a node named by outputs and constant', async () => {
    const g: NodeGraph = {
      inputs: [
        { name: 'toString', shape: [] },
        { name: 'constructor', shape: [2] },
      ],
      nodes: [
        { id: '__proto__', op: 'mul', args: ['toString', 'constructor'] },
        { id: 'valueOf', op: 'sum', args: ['__proto__'] },
      ],
      outputs: ['__proto__', 'valueOf'],
    };
    const ev = await api.evaluate({ graph: g, args: { toString: 2, constructor: [1, 5] } });
    expect(ev.values).toEqual(JSON.parse('{"__proto__": [2, 10], "valueOf": 12}'));
    own(ev.values, ['__proto__', 'valueOf']);
    const j = await api.jacobian({
      graph: g,
      args: { toString: 2, constructor: [1, 5] },
      constant: ['constructor'],
      outputs: ['__proto__'],
    });
    own(j.jacobian!, ['__proto__']);
    own(j.jacobian!.__proto__, ['toString']);
    expect(j.jacobian!.__proto__.toString).toEqual([1, 5]);
    const v = await api.vjp({
      graph: g,
      args: { toString: 2, constructor: [1, 5] },
      cotangents: JSON.parse('{"__proto__": [1, 1], "valueOf": 0}'),
    });
    expect(v.vjp).toEqual({ toString: 6, constructor: [2, 2] });
  });

  it('reports them like any name', () => {
    const noProto = JSON.parse(`{"graph": ${JSON.stringify(protoGraph)}, "args": {"toString": 3, "constructor": 1}}`);
    rejects('evaluate', noProto, 'invalid_graph', [
      ['args.__proto__', 'missing argument "__proto__" of shape [2]'],
      ['args.constructor', 'unexpected argument "constructor"'],
    ]);
    // A JS literal `{ __proto__: ... }` sets the prototype; it is not an argument named __proto__.
    rejects('evaluate', { graph: protoGraph, args: { __proto__: { x: 1 }, toString: 3 } }, 'invalid_graph', [
      ['args.__proto__', 'missing argument'],
    ]);
    rejects(
      'evaluate',
      { graph: { ...protoGraph, nodes: [...protoGraph.nodes, { id: '__proto__', op: 'neg', args: ['toString'] }] }, args: {} },
      'invalid_graph',
      [
        ['graph.nodes[3].id', 'duplicate id "__proto__"', 'already used by input graph.inputs[0]'],
        ['args.__proto__', 'missing'],
        ['args.toString', 'missing'],
      ],
    );
  });
});

// --- property tests -------------------------------------------------------------

type Json = unknown;
/** Runs per property; raise it for a longer hunt: DERIVD_FUZZ_RUNS=5000 npx vitest run src/graph/request.test.ts */
const RUNS = Number(process.env.DERIVD_FUZZ_RUNS ?? 250);

const seeds: Record<Operation, Record<string, Json>> = {
  evaluate: { graph: seed, args: { d, xs: 0.1 } },
  jacobian: { graph: seed, args: { d, xs: 0.1 }, constant: ['d'] },
  gradient: { graph: scalarSeed, args: { d, xs: 0.1 } },
  jvp: { graph: seed, args: { d, xs: 0.1 }, constant: ['d'], tangents: { xs: 1 } },
  vjp: { graph: seed, args: { d, xs: 0.1 }, cotangents: { r: d } },
  hessian: { graph: scalarSeed, args: { d, xs: 0.1 }, constant: ['d'] },
  hvp: { graph: scalarSeed, args: { d, xs: 0.1 }, vector: { d, xs: 1 } },
};

/** A graph using the ops with attributes, so that mutated numbers become bad axes, perms, indices... */
const rich: NodeGraph = {
  inputs: [
    { name: 'm', shape: [2, 3] },
    { name: 'v', shape: [3] },
  ],
  nodes: [
    { id: 't', op: 'transpose', args: ['m'], perm: [1, 0] },
    { id: 'r', op: 'reshape', args: ['t'], shape: [6] },
    { id: 's', op: 'slice', args: ['r'], start: [1], stop: [5], step: [2] },
    { id: 'i', op: 'index', args: ['m'], axis: 1, indices: [0, 2] },
    { id: 'c', op: 'concat', args: ['i', 'i'], axis: 0 },
    { id: 'st', op: 'stack', args: ['v', 'v'], axis: 1 },
    { id: 'mm', op: 'matmul', args: ['m', 'st'] },
    { id: 'b', op: 'broadcast_to', args: ['s'], shape: [2, 2] },
    { id: 'sm', op: 'sum', args: ['mm'], axes: [0], keepdims: true },
    { id: 'mx', op: 'max', args: ['c'], axes: [1] },
    { id: 'rg', op: 'range', start: 0, stop: 4, step: 1 },
    { id: 'f', op: 'fill', shape: [4], value: 2 },
    { id: 'g', op: 'gt', args: ['mx', 'rg'] },
    { id: 'w', op: 'where', args: ['g', 'f', 'mx'] },
    { id: 'o', op: 'add', args: ['b', 'sm'] },
    { id: 'so', op: 'sum', args: ['o'] },
    { id: 'lw', op: 'logsumexp', args: ['w'], axes: [0] },
    { id: 'tot', op: 'add', args: ['so', 'lw'] },
  ],
  outputs: ['o', 'w', 'tot'],
};
const richArgs = {
  m: [
    [1, 2, 3],
    [4, 5, 6],
  ],
  v: [0.5, -1, 2],
};
const richSeeds: Record<Operation, Record<string, Json>> = {
  evaluate: { graph: rich, args: richArgs },
  jacobian: { graph: rich, args: richArgs },
  gradient: { graph: rich, args: richArgs, outputs: ['tot'] },
  jvp: { graph: rich, args: richArgs, tangents: richArgs },
  vjp: {
    graph: rich,
    args: richArgs,
    cotangents: {
      o: [
        [1, 0],
        [0, 1],
      ],
      w: [1, 2, 3, 4],
      tot: 1,
    },
  },
  hessian: { graph: rich, args: richArgs, outputs: ['tot'] },
  hvp: { graph: rich, args: richArgs, outputs: ['tot'], vector: richArgs },
};

/** The shape of a nested result, or throws when it is ragged or holds a non-number. */
function nestedShape(v: unknown): number[] {
  if (typeof v === 'number') return [];
  if (!Array.isArray(v)) throw new Error(`not a tensor: ${String(v)}`);
  const inner = v.map(nestedShape);
  for (const s of inner) if (JSON.stringify(s) !== JSON.stringify(inner[0] ?? [])) throw new Error('ragged result');
  if (v.length === 0) return [0];
  return [v.length, ...inner[0]];
}

/** A result has exactly the names and shapes the (valid) request implies. */
function expectWellShaped(op: Operation, request: unknown, r: api.Result): void {
  const req = checkRequest(op, request);
  const outs = req.outputs;
  const ins = req.activeInputs.map((i) => req.graph.inputs[i]);
  const shapes = (o: Record<string, unknown> | undefined): Record<string, number[]> =>
    Object.fromEntries(Object.entries(o ?? {}).map(([k, t]) => [k, nestedShape(t)]));
  // Nested arrays cannot show the dimensions after a 0: [0, 2] is written [].
  const seen = (shape: number[]): number[] => (shape.includes(0) ? shape.slice(0, shape.indexOf(0) + 1) : shape);
  const by = (
    xs: { name: string; shape: readonly number[] }[],
    f: (x: { shape: readonly number[] }) => number[],
  ): Record<string, number[]> => Object.fromEntries(xs.map((x) => [x.name, seen(f(x))]));
  expect(shapes(r.values)).toEqual(by(outs, (o) => [...o.shape]));
  const grid = (g: Record<string, Record<string, unknown>> | undefined): Record<string, Record<string, number[]>> =>
    Object.fromEntries(Object.entries(g ?? {}).map(([k, row]) => [k, shapes(row)]));
  if (op === 'jacobian')
    expect(grid(r.jacobian)).toEqual(Object.fromEntries(outs.map((o) => [o.name, by(ins, (i) => [...o.shape, ...i.shape])])));
  if (op === 'hessian')
    expect(grid(r.hessian)).toEqual(Object.fromEntries(ins.map((a) => [a.name, by(ins, (b) => [...a.shape, ...b.shape])])));
  if (op === 'gradient') expect(shapes(r.gradient)).toEqual(by(ins, (i) => [...i.shape]));
  if (op === 'vjp') expect(shapes(r.vjp)).toEqual(by(ins, (i) => [...i.shape]));
  if (op === 'hvp') expect(shapes(r.hvp)).toEqual(by(ins, (i) => [...i.shape]));
  if (op === 'jvp') expect(shapes(r.jvp)).toEqual(by(outs, (o) => [...o.shape]));
}

/** How the property runs ended, by operation and outcome: shows the mutations reach every stage. */
const tally = new Map<string, number>();

async function outcome(op: Operation, request: unknown): Promise<void> {
  let result: api.Result;
  try {
    result = await api.operations[op](request);
    tally.set(`${op} ok`, (tally.get(`${op} ok`) ?? 0) + 1);
  } catch (err) {
    if (err instanceof DerivdError) tally.set(`${op} ${err.kind}`, (tally.get(`${op} ${err.kind}`) ?? 0) + 1);
    if (!(err instanceof DerivdError)) throw new Error(`${op} threw a non-DerivdError: ${String((err as Error)?.stack ?? err)}`);
    expect(['invalid_request', 'invalid_graph', 'limit_exceeded']).toContain(err.kind);
    expect(err.issues.length).toBeGreaterThan(0);
    for (const i of err.issues) expect(typeof i.path === 'string' && typeof i.message === 'string' && i.message.length > 0).toBe(true);
    return;
  }
  expectWellShaped(op, request, result);
}

const nasty = fc.anything({
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  maxDepth: 3,
});
const plausible = fc.constantFrom<Json>(
  null,
  '',
  'NaN',
  'Infinity',
  'x',
  'r',
  'd',
  'xs',
  'f',
  't2',
  '__proto__',
  'sum',
  'exp',
  -1,
  0,
  1,
  2.5,
  1e9,
  2 ** 53,
  [],
  {},
  [1, 2],
  [[1]],
  true,
  { shape: [2], data: new Float64Array(2) },
);
const ids = fc.constantFrom<Json>(
  'x',
  't',
  't2',
  'a',
  'f',
  'num',
  'den',
  'c',
  'cf',
  'r',
  'd',
  'xs',
  'r2',
  'loss',
  'm',
  'v',
  'i',
  'st',
  'mm',
  'mx',
  'g',
  'w',
  'o',
  'tot',
);
const replacement = fc.oneof(
  { arbitrary: plausible, weight: 3 },
  { arbitrary: ids, weight: 3 },
  { arbitrary: fc.integer({ min: -3, max: 30 }), weight: 3 },
  { arbitrary: fc.array(fc.integer({ min: -2, max: 22 }), { maxLength: 3 }), weight: 2 },
  { arbitrary: nasty, weight: 2 },
);

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && [Object.prototype, null].includes(Object.getPrototypeOf(v));

/** Every path to a value in the plain arrays and objects of a tree (the root excluded). */
function pathsOf(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (Array.isArray(v))
    v.forEach((x, i) => {
      out.push([...at, i]);
      pathsOf(x, [...at, i], out);
    });
  else if (isPlainObject(v))
    for (const k of Object.keys(v)) {
      out.push([...at, k]);
      pathsOf(v[k], [...at, k], out);
    }
  return out;
}

interface Mutation {
  pick: number;
  kind: 'delete' | 'replace' | 'duplicate' | 'rename';
  value: Json;
  name: string;
}
const mutation: fc.Arbitrary<Mutation> = fc.record({
  pick: fc.nat(),
  kind: fc.constantFrom('delete', 'replace', 'replace', 'duplicate', 'rename'),
  value: replacement,
  name: fc.constantFrom(
    'x',
    'd',
    'xs',
    'r',
    'f',
    '__proto__',
    'constructor',
    'extra',
    'tangents',
    'cotangents',
    'vector',
    'mode',
    'check',
    'outputs',
    'constant',
    'axes',
    'shape',
    'value',
  ),
});

function mutate(base: Json, ms: Mutation[]): Json {
  const root = structuredClone(base) as Record<string, unknown>;
  for (const m of ms) {
    const paths = pathsOf(root);
    if (paths.length === 0) break;
    const path = paths[m.pick % paths.length];
    const parent = path.slice(0, -1).reduce<any>((o, k) => o[k], root);
    const key = path[path.length - 1];
    if (m.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else if (m.kind === 'replace') {
      // A copy: fast-check may hand the same instance to two mutations, which would make a cycle.
      parent[key] = structuredClone(m.value);
    } else if (m.kind === 'duplicate') {
      if (Array.isArray(parent)) parent.push(structuredClone(parent[key as number]));
      else
        Object.defineProperty(parent, m.name, {
          value: structuredClone(parent[key]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
    } else if (!Array.isArray(parent)) {
      const value = parent[key];
      delete parent[key];
      Object.defineProperty(parent, m.name, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return root;
}

describe('property: bad input only ever yields a DerivdError', () => {
  it('the seed requests themselves are valid and well shaped', async () => {
    for (const op of OPERATIONS) {
      for (const request of [seeds[op], richSeeds[op]]) {
        expect(() => checkRequest(op, request)).not.toThrow();
        await outcome(op, request);
      }
    }
  });

  it.each(OPERATIONS)('%s: arbitrary values', async (op) => {
    await fc.assert(
      fc.asyncProperty(nasty, (request) => outcome(op, request)),
      { numRuns: RUNS },
    );
  });

  /** Outcomes of `op` while `run` runs: the mutations must reach every stage, or the property is vacuous for the later ones. */
  async function expectEveryStage(op: Operation, run: () => Promise<void>): Promise<void> {
    const count = (k: string): number => tally.get(`${op} ${k}`) ?? 0;
    const before = ['ok', 'invalid_request', 'invalid_graph'].map(count);
    await run();
    expect(['ok', 'invalid_request', 'invalid_graph'].filter((k, i) => count(k) === before[i])).toEqual([]);
  }

  it.each(OPERATIONS)('%s: the seed request with fields deleted, retyped, duplicated or renamed', async (op) => {
    await expectEveryStage(op, () =>
      fc.assert(
        fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (ms) => outcome(op, mutate(seeds[op], ms))),
        { numRuns: RUNS },
      ),
    );
  });

  it.each(OPERATIONS)('%s: an attribute-rich graph with fields deleted, retyped, duplicated or renamed', async (op) => {
    await expectEveryStage(op, () =>
      fc.assert(
        fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 2 }), async (ms) => outcome(op, mutate(richSeeds[op], ms))),
        { numRuns: RUNS },
      ),
    );
  });

  it('arbitrary values in argument, tangent and attribute positions', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...OPERATIONS), replacement, replacement, async (op, a, b) => {
        const base = structuredClone(seeds[op]) as { graph: NodeGraph; args: Record<string, unknown> };
        base.args.xs = a;
        base.graph.nodes[3] = {
          id: 'a',
          op: 'mul',
          args: [-1.5, 't2'],
          ...(typeof b === 'object' && b !== null && !Array.isArray(b) ? b : { value: b }),
        } as never;
        await outcome(op, base);
      }),
      { numRuns: RUNS },
    );
  });
});

if (process.env.DERIVD_FUZZ_TALLY)
  afterAll(() =>
    console.log(
      [...tally]
        .sort()
        .map(([k, n]) => `${k}: ${n}`)
        .join('\n'),
    ),
  );

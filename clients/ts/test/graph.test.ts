/**
 * The builder's wire graphs: nodes reached from the outputs, each once, with
 * readable ids; output names, aliases, literals; functions and formula
 * definitions; and the errors a graph that cannot be written gets, at build time.
 */
import { describe, expect, test } from 'vitest';
import { builderName } from '../../../scripts/generate-client-ops.js';
import * as pkg from '../src/index.js';
import { add, apply, constant, exp, graph, mul, OP_ARITY, sin, square, sub, sum, tensor } from '../src/index.js';

describe('toJSON', () => {
  test('writes the reached nodes in dependency order with generated ids, the output under its name', () => {
    const g = graph();
    const x = g.input('x', [3]);
    const unused = exp(x); // never reached from an output: not written
    const y = g.output('y', sum(square(sub(x, 1))));
    void unused;
    expect(y.toJSON()).toEqual({
      inputs: [{ name: 'x', shape: [3] }],
      nodes: [
        { id: 'sub_1', op: 'sub', args: ['x', 1] },
        { id: 'square_1', op: 'square', args: ['sub_1'] },
        { id: 'y', op: 'sum', args: ['square_1'] },
      ],
      outputs: ['y'],
    });
    expect(JSON.parse(JSON.stringify(y))).toEqual(y.toJSON());
  });

  test('a node used twice is written once; named() ids are kept; generated ids avoid taken names', () => {
    const g = graph();
    const x = g.input('exp_1', []);
    const e = exp(x).named('e');
    const model = g.output('out', add(exp(e), mul(e, e)));
    expect(model.toJSON().nodes).toEqual([
      { id: 'e', op: 'exp', args: ['exp_1'] },
      { id: 'exp_2', op: 'exp', args: ['e'] },
      { id: 'mul_1', op: 'mul', args: ['e', 'e'] },
      { id: 'out', op: 'add', args: ['exp_2', 'mul_1'] },
    ]);
  });

  test('an input, or a node output twice, is output under another name through mul(t, 1)', () => {
    const g = graph();
    const x = g.input('x', [2]);
    const s = sin(x);
    const model = g.output('a', s).output('b', s).output('x', x).output('copy', x);
    const wire = model.toJSON();
    expect(wire.outputs).toEqual(['a', 'b', 'x', 'copy']);
    expect(wire.nodes).toEqual([
      { id: 'a', op: 'sin', args: ['x'] },
      { id: 'b', op: 'mul', args: ['a', 1] },
      { id: 'copy', op: 'mul', args: ['x', 1] },
    ]);
  });

  test('non-finite numbers become fill nodes; attributes are written beside the args', () => {
    const g = graph();
    const x = g.input('x', [2, 2]);
    const model = g.output('y', add(sum(x, { axes: [1], keepdims: true }), mul(Number.NaN, -Infinity)));
    expect(model.toJSON().nodes).toEqual([
      { id: 'sum_1', op: 'sum', args: ['x'], axes: [1], keepdims: true },
      { id: 'fill_1', op: 'fill', shape: [], value: 'NaN' },
      { id: 'fill_2', op: 'fill', shape: [], value: '-Infinity' },
      { id: 'mul_1', op: 'mul', args: ['fill_1', 'fill_2'] },
      { id: 'y', op: 'add', args: ['sum_1', 'mul_1'] },
    ]);
  });

  test('functions are written by name, each with its own names; call and scan name them', () => {
    const g = graph();
    const c0 = g.input('c0', [2]);
    const twice = g.fn('twice', { v: [2] }, ({ v }) => mul(v, 2));
    const step = g.fn('step', { c: [2] }, ({ c }) => add(c, twice.call(sin(c))));
    const model = g.output('cs', step.scan(4, c0));
    const wire = model.toJSON();
    expect(wire.nodes).toEqual([{ id: 'cs', op: 'scan', args: ['c0'], function: 'step', length: 4 }]);
    expect(wire.functions).toEqual({
      step: {
        inputs: [{ name: 'c', shape: [2] }],
        nodes: [
          { id: 'sin_1', op: 'sin', args: ['c'] },
          { id: 'call_1', op: 'call', args: ['sin_1'], function: 'twice' },
          { id: 'out', op: 'add', args: ['c', 'call_1'] },
        ],
        outputs: ['out'],
      },
      twice: { inputs: [{ name: 'v', shape: [2] }], nodes: [{ id: 'out', op: 'mul', args: ['v', 2] }], outputs: ['out'] },
    });
    // Static shapes follow: the scan stacks 4 carries of [2].
    expect(step.scan(4, c0).shape).toEqual([4, 2]);
  });

  test('formula definitions are passed through as define, and their ids are usable', () => {
    const g = graph();
    g.input('x', []);
    g.input('t', [21]);
    const f = g.define('f', 'exp(-1.5*(x - t)^2)');
    const model = g.output('f', f).output('total', sum(f));
    expect(model.toJSON()).toEqual({
      inputs: [
        { name: 'x', shape: [] },
        { name: 't', shape: [21] },
      ],
      nodes: [{ id: 'total', op: 'sum', args: ['f'] }],
      outputs: ['f', 'total'],
      define: { f: 'exp(-1.5*(x - t)^2)' },
    });
  });
});

describe('shapes known to the builder', () => {
  test('elementwise ops broadcast, constants have their nesting, reductions without axes are scalars', () => {
    const g = graph();
    const m = g.input('m', [2, 1]);
    const v = g.input('v', [3]);
    expect(add(m, v).shape).toEqual([2, 3]);
    expect(tensor([[1, 2, 3]]).shape).toEqual([1, 3]);
    expect(constant({ value: 2 }).shape).toEqual([]);
    expect(sum(v).shape).toEqual([]);
    expect(sum(v, { axes: [0] }).shape).toBeUndefined();
    expect(apply('matmul', [m, v]).shape).toBeUndefined();
  });

  test('shapes that cannot broadcast are an error where the node is made', () => {
    const g = graph();
    const a = g.input('a', [3]);
    const b = g.input('b', [2, 4]);
    expect(() => apply('add', [a, b])).toThrow('add: argument 1 of shape [2, 4] does not broadcast with [3]');
  });
});

describe('errors', () => {
  test('a name used twice, an input of another graph, a function body reaching outside', () => {
    const g = graph();
    const x = g.input('x', []);
    expect(() => g.input('x', [])).toThrow('input "x" is declared twice');
    expect(() => g.output('x', exp(x)).toJSON()).toThrow('the output name "x" is already the name of another input or node');

    const other = graph();
    expect(() => other.output('y', exp(x)).toJSON()).toThrow('the graph uses input "x" of graph');

    const h = graph();
    const outside = h.input('w', []);
    const f = h.fn('f', { v: [] }, ({ v }) => mul(v, outside));
    expect(() => h.output('z', f.call(outside)).toJSON()).toThrow('function "f" uses input "w" of graph');

    const k = graph();
    const p = k.input('p', []);
    expect(() => k.output('q', add(exp(p).named('e'), sin(p).named('e'))).toJSON()).toThrow('the name "e" is used twice');
    expect(() => graph().toJSON()).toThrow('the graph has no outputs');
  });
});

describe('the generated builder functions', () => {
  test('every op the service accepts has one, exported by the package, making a node of that op', () => {
    for (const op of Object.keys(OP_ARITY)) {
      const make = (pkg as Record<string, unknown>)[builderName(op)];
      expect(typeof make, op).toBe('function');
      const arity = OP_ARITY[op as keyof typeof OP_ARITY];
      const x = graph().input('x', [2]);
      const args = arity === 'variadic' ? [[x, x]] : Array.from({ length: arity }, () => x);
      const attrs = op === 'call' || op === 'scan' ? { function: 'f', length: 1 } : {};
      const node = (make as (...a: unknown[]) => pkg.Tensor)(...args, attrs);
      expect(node.op, op).toBe(op);
    }
  });
});

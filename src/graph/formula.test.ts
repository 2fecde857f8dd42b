/**
 * Formulas (formula.ts): precedence and associativity checked by value through
 * the library, attributes, errors with their paths and columns, bounds on size
 * and nesting, and a property: any expression tree printed with full parentheses
 * and with only the parentheses it needs expands to the same nodes and evaluates
 * to what JavaScript computes for it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate, jacobian } from '../api/index.js';
import { checkGraph } from './check.js';
import { DerivdError } from './errors.js';
import { expandDefinitions, MAX_FORMULA_CHARS, parseFormula } from './formula.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { WireGraph } from './schema.js';

const scalars = (...names: string[]) => names.map((name) => ({ name, shape: [] as number[] }));

/** The values of formulas over scalars a, b, c, x at the given arguments. */
async function values(define: Record<string, string>, args: Record<string, number> = { a: 2, b: 3, c: 2, x: 3 }) {
  const graph = { inputs: scalars(...Object.keys(args)), define, outputs: Object.keys(define) };
  return (await evaluate({ graph, args })).values as Record<string, number>;
}

/** The error a graph's check throws: its kind and issues. */
async function failure(graph: WireGraph, args: Record<string, unknown> = {}): Promise<DerivdError> {
  try {
    await evaluate({ graph, args });
  } catch (err) {
    expect(err).toBeInstanceOf(DerivdError);
    return err as DerivdError;
  }
  throw new Error('expected the request to fail');
}

const one = (define: Record<string, string>, inputs = scalars('x')): WireGraph => ({
  inputs,
  define,
  outputs: [Object.keys(define)[0]],
});

describe('precedence and associativity, by value', () => {
  it.each([
    ['-x^2', -9],
    ['2^3^2', 512],
    ['2**3**2', 512],
    ['2^3**2', 512],
    ['(2^3)^2', 64],
    ['(-x)^2', 9],
    ['x^-2', 1 / 9],
    ['-2^2', -4],
    ['a*b^c', 18],
    ['a/b/c', 2 / 3 / 2],
    ['a-b-c', -3],
    ['x**2**3', 3 ** 8],
    ['2^-1*4', 2],
    ['-x^2^-1', -Math.sqrt(3)],
    ['- -x', 3],
    ['a - -b', 5],
    ['a*-b', -6],
    ['-a*b', -6],
    ['1e1 + .5', 10.5],
    ['exp(x)^2', Math.exp(3) ** 2],
    ['-exp(0)^2', -1],
  ])('%s is %d', async (formula, want) => {
    const v = await values({ r: formula });
    expect(v.r).toBeCloseTo(want, 12);
  });

  it('-x^2 is -(x^2) and x^2^3 is x^(2^3), as nodes', () => {
    const { graph } = expandDefinitions(one({ r: '-x^2' }), DEFAULT_LIMITS);
    expect(graph.nodes).toEqual([
      { id: 'r/1', op: 'square', args: ['x'] },
      { id: 'r', op: 'neg', args: ['r/1'] },
    ]);
    const pow = expandDefinitions(one({ r: 'x^2^3' }), DEFAULT_LIMITS).graph.nodes;
    expect(pow).toEqual([
      { id: 'r/1', op: 'pow', args: [2, 3] },
      { id: 'r', op: 'pow', args: ['x', 'r/1'] },
    ]);
  });
});

describe('names, literals and calls', () => {
  it('definitions refer to inputs, nodes and each other in any order', async () => {
    const graph: WireGraph = {
      inputs: scalars('x'),
      nodes: [{ id: 'y', op: 'mul', args: ['x', 2] }],
      define: { b: 'a + y', a: 'x^2', c: '3', e: 'b' },
      outputs: ['b', 'c', 'e'],
    };
    const r = await evaluate({ graph, args: { x: 3 } });
    expect(r.values).toEqual({ b: 15, c: 3, e: 15 });
  });

  it('attributes: numbers, negative numbers, nested arrays, strings, booleans', async () => {
    const graph: WireGraph = {
      inputs: [{ name: 'x', shape: [5] }],
      define: {
        a: 'slice(x, start=[0], stop=[4])',
        b: 'sum(a, axes=[0], keepdims=true)',
        c: 'clip(x, min=-1, max=2.5)',
        e: 'const(value=[[1, 2], [3, 4]])',
        f: 'einsum(e, e, subscripts="ij,jk->ik")',
        g: 'sum(x, axes=[-1])',
        h: 'concat(x, x, axis=0)',
      },
      outputs: ['a', 'b', 'c', 'e', 'f', 'g', 'h'],
    };
    const r = await evaluate({ graph, args: { x: [1, 2, 3, 4, 5] } });
    expect(r.values).toEqual({
      a: [1, 2, 3, 4],
      b: [10],
      c: [1, 2, 2.5, 2.5, 2.5],
      e: [
        [1, 2],
        [3, 4],
      ],
      f: [
        [7, 10],
        [15, 22],
      ],
      g: 15,
      h: [1, 2, 3, 4, 5, 1, 2, 3, 4, 5],
    });
  });

  it('generated ids skip ids in use', () => {
    const graph: WireGraph = {
      inputs: scalars('x'),
      nodes: [{ id: 'r/1', op: 'neg', args: ['x'] }],
      define: { r: 'exp(x) + 1' },
      outputs: ['r'],
    };
    const ids = expandDefinitions(graph, DEFAULT_LIMITS).graph.nodes.map((n) => n.id);
    expect(ids).toEqual(['r/1', 'r/2', 'r']);
  });

  it('a graph without define is left as it is', () => {
    const graph: WireGraph = { inputs: scalars('x'), nodes: [{ id: 'y', op: 'neg', args: ['x'] }], outputs: ['y'] };
    expect(expandDefinitions(graph, DEFAULT_LIMITS).graph).toBe(graph);
  });
});

describe('syntax errors: 400 at the definition, with the column', () => {
  it.each([
    ['exp(x))', 'unexpected ")" at column 7'],
    ['x +', 'expected expression after + at column 4'],
    ['(x', 'unclosed ( at column 3'],
    ['2x', 'variable names cannot start with a number (2x) at column 2'],
    ['', 'empty formula'],
    ['x -', 'expected expression after - at column 4'],
    ['x * -', 'expected an operand after "-" at column 6'],
  ])('%j: %s', async (formula, message) => {
    const err = await failure(one({ f: formula }), { x: 1 });
    expect(err.kind).toBe('invalid_request');
    expect(err.issues).toEqual([{ path: 'graph.define.f', message }]);
  });

  it('a function body reports at graph.functions.NAME.define.r', async () => {
    const graph: WireGraph = {
      inputs: [{ name: 'x', shape: [2] }],
      functions: { sq: { inputs: [{ name: 'u', shape: [2] }], define: { r: 'u*u +' }, outputs: ['r'] } },
      define: { f: 'call(x, function="sq")' },
      outputs: ['f'],
    };
    const err = await failure(graph, { x: [1, 2] });
    expect(err.issues).toEqual([{ path: 'graph.functions.sq.define.r', message: 'expected expression after + at column 6' }]);
  });
});

describe('bounds', () => {
  it('a 100 000-deep "((((" is refused, not a stack overflow', async () => {
    const deep = `${'('.repeat(100_000)}x${')'.repeat(100_000)}`;
    const err = await failure(one({ f: deep }), { x: 1 });
    expect(err.issues[0].message).toBe(`the formula has 200001 characters, more than ${MAX_FORMULA_CHARS}`);
    // within the length bound, the nesting bound says where
    const nested = `${'('.repeat(4000)}x${')'.repeat(4000)}`;
    expect(() => parseFormula(nested)).toThrow('the formula nests more than 100 levels deep (brackets and signs) at column 101');
    expect(() => parseFormula(`${'-'.repeat(5000)}x`)).toThrow(/nests more than 100 levels/);
  });

  it('a long chain is refused or parsed, never a crash', () => {
    // each unary minus in the exponents nests the parser: refused with a message, however it ends
    expect(() => parseFormula(Array(2400).fill('-x').join('^'))).toThrow(/nests too deeply|levels deep/);
    expect(() => parseFormula(Array(3000).fill('x').join('+'))).toThrow(/more than 2000 levels deep/);
    expect(parseFormula(Array(1500).fill('x').join('+')).type).toBe('BinaryExpression');
  });

  it('the deepest formulas accepted are lowered, evaluated and differentiated', async () => {
    const chain = Array(999).fill('-x').join('^'); // -(x^(-(x^(...)))), 1998 levels
    const sum = Array(1999).fill('x').join('+');
    const graph: WireGraph = { inputs: scalars('x'), define: { chain, sum }, outputs: ['chain', 'sum'] };
    const r = await jacobian({ graph, args: { x: 1 } });
    expect(r.values).toEqual({ chain: -1, sum: 1999 });
    expect(r.jacobian?.sum.x).toBe(1999);
  });

  it('generated nodes count against MAX_NODES, and lowering stops there', async () => {
    // a hundred long formulas: refused quickly, long before 500 000 nodes are made
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, Array(1500).fill('x').join('+')]));
    const t0 = performance.now();
    const big = await failure({ inputs: scalars('x'), define: many, outputs: ['f0'] }, { x: 1 }).catch((e) => e);
    expect(big.kind).toBe('limit_exceeded');
    expect(performance.now() - t0).toBeLessThan(5000);

    const graph = one({ f: Array(50).fill('x').join('+') });
    const err = await (async () => {
      try {
        await evaluate({ graph, args: { x: 1 } }, { limits: { maxNodes: 20 } });
      } catch (e) {
        return e as DerivdError;
      }
    })();
    expect(err?.kind).toBe('limit_exceeded');
    expect(err?.issues[0]).toEqual({
      path: 'graph.define',
      message: "the definitions make more nodes than MAX_NODES (20) leaves room for beside the graph's own 0 (its functions' included)",
    });
  });
});

describe('meaning errors: 422 at the definition', () => {
  it('unknown names and ops, with close matches', async () => {
    const graph: WireGraph = { inputs: scalars('xs'), define: { f: 'exp(x)', g: 'expp(xs)', h: 'sum' }, outputs: ['f'] };
    const err = await failure(graph, { xs: 1 });
    expect(err.kind).toBe('invalid_graph');
    expect(err.issues).toEqual([
      {
        path: 'graph.define.f',
        message: 'unknown name "x": no input, node or definition has this name; did you mean "xs"? (at column 5: "x")',
      },
      { path: 'graph.define.g', message: 'unknown op "expp"; did you mean exp, expm1? (at column 1: "expp(xs)")' },
      {
        path: 'graph.define.h',
        message: 'unknown name "sum": no input, node or definition has this name; sum is an op: call it, sum(...) (at column 1: "sum")',
      },
    ]);
  });

  it('what jsep accepts but formulas do not', async () => {
    const graph: WireGraph = {
      inputs: scalars('x'),
      define: { a: 'x < 2', b: 'x.y', c: 'x ? 1 : 2', d: 'this', e: 'x % 2', g: '!x', h: '"s"', k: 'x = 1', m: 'x[0]' },
      outputs: ['a'],
    };
    const err = await failure(graph, { x: 1 });
    expect(err.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'graph.define.a: operator "<" is not supported: call lt(a, b); formulas have + - * / ^ ** (at column 1: "x < 2")',
      'graph.define.b: member access (a.b, a[i]) is not supported: use slice(x, start=[...], stop=[...]) or index(x, axis=0, indices=[...]) (at column 1: "x.y")',
      'graph.define.c: a ? b : c is not supported: use where(condition, a, b) (at column 1: "x ? 1 : 2")',
      'graph.define.d: "this" is not a name here (at column 1: "this")',
      'graph.define.e: operator "%" is not supported; formulas have + - * / ^ ** (at column 1: "x % 2")',
      'graph.define.g: unary "!" is not supported: formulas have unary minus only (at column 1: "!x")',
      `graph.define.h: "s" can only be an attribute's value (name=value in a call) (at column 1: "\\"s\\"")`,
      'graph.define.k: a named attribute (name=value) can only be an argument of a call (at column 1: "x = 1")',
      'graph.define.m: member access (a.b, a[i]) is not supported: use slice(x, start=[...], stop=[...]) or index(x, axis=0, indices=[...]) (at column 1: "x[0]")',
    ]);
  });

  it('bad attributes', async () => {
    const graph: WireGraph = {
      inputs: [{ name: 'x', shape: [3] }],
      define: {
        a: 'sum(x, axis=0)',
        b: 'sum(x, axes=x)',
        c: 'sum(x, axes=[0], 2)',
        e: 'sum(x, axes="0")',
        g: 'sum(x, axes=[0], axes=[0])',
      },
      outputs: ['a'],
    };
    const err = await failure(graph, { x: [1, 2, 3] });
    expect(err.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'graph.define.a: sum: unknown attribute "axis" of sum: expected one of axes, keepdims (at column 1: "sum(x, axis=0)")',
      'graph.define.b: attribute axes: expected a number, a string, true, false or an array of them (at column 13: "x")',
      'graph.define.c: positional arguments come before named attributes (at column 18: "2")',
      'graph.define.e: sum: axes: expected an array, found the string "0" (at column 1: "sum(x, axes=\\"0\\")")',
      'graph.define.g: attribute axes is given twice (at column 18: "axes=[0]")',
    ]);
  });

  it('__proto__ is an ordinary name: as a definition, and refused as an attribute', async () => {
    const define = JSON.parse('{"__proto__": "x + 1", "g": "__proto__ * 2", "h": "sum(x, __proto__=[0])"}');
    const graph: WireGraph = { inputs: scalars('x'), define, outputs: ['g'] };
    const err = await failure(graph, { x: 1 });
    expect(err.issues).toEqual([
      {
        path: 'graph.define.h',
        message: 'sum: unknown attribute "__proto__" of sum: expected one of axes, keepdims (at column 1: "sum(x, __proto__=[0])")',
      },
    ]);
    delete define.h;
    const r = await evaluate({ graph: { inputs: scalars('x'), define, outputs: ['g', '__proto__'] }, args: { x: 1 } });
    expect(r.values.g).toBe(4);
    expect(Object.hasOwn(r.values, '__proto__')).toBe(true);
    // zod does not see a __proto__ key: its formula is checked here
    const notText = await failure({ inputs: scalars('x'), define: JSON.parse('{"__proto__": 5}'), outputs: ['x'] }, { x: 1 });
    expect(notText.kind).toBe('invalid_request');
    expect(notText.issues).toEqual([{ path: 'graph.define.__proto__', message: 'expected a formula (a string), found the number 5' }]);
  });

  it('a cycle between definitions, and names that clash', async () => {
    const graph: WireGraph = {
      inputs: scalars('x'),
      nodes: [{ id: 'y', op: 'neg', args: ['x'] }],
      define: { g: 'h + 1', h: 'exp(g)', k: 'k', x: '1', y: '2' },
      outputs: ['g'],
    };
    const err = await failure(graph, { x: 1 });
    expect(err.issues).toEqual([
      { path: 'graph.define.x', message: `"x" is already an input: a definition's name is a node id and must be new` },
      { path: 'graph.define.y', message: `"y" is already a node id: a definition's name is a node id and must be new` },
      { path: 'graph.define.g', message: 'definitions form a cycle: "g" -> "h" -> "g"; each uses the next' },
      { path: 'graph.define.k', message: 'definitions form a cycle: "k" -> "k"; each uses the next' },
    ]);
  });

  it('a shape error on a generated node is reported at its definition, with the sub-expression', async () => {
    const graph: WireGraph = {
      inputs: [
        { name: 'd', shape: [21] },
        { name: 'f', shape: [3] },
      ],
      define: { r: 'd - dot(d, f)/dot(f, f)*f' },
      outputs: ['r'],
    };
    const err = await failure(graph, { d: Array(21).fill(0), f: [1, 2, 3] });
    expect(err.kind).toBe('invalid_graph');
    expect(err.issues).toEqual([{ path: 'graph.define.r', message: 'dot: lengths of [21] and [3] differ (at column 5: "dot(d, f)")' }]);
  });

  it('a value error when the call runs names the definition', async () => {
    const graph: WireGraph = {
      inputs: [{ name: 'x', shape: [2] }],
      define: { f: 'gather(x, const(value=[0, 5]), axis=0)' },
      outputs: ['f'],
    };
    const err = await failure(graph, { x: [1, 2] });
    expect(err.issues[0].path).toBe('graph.define.f');
  });
});

/** An expression tree over x, y, z, small numbers and exp. */
type Tree =
  | { k: 'name'; n: string }
  | { k: 'num'; v: number }
  | { k: 'neg'; a: Tree }
  | { k: 'bin'; op: '+' | '-' | '*' | '/' | '^' | '**'; a: Tree; b: Tree }
  | { k: 'exp'; a: Tree };

const treeArb: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ k: fc.constant('name' as const), n: fc.constantFrom('x', 'y', 'z') }),
    fc.record({ k: fc.constant('num' as const), v: fc.constantFrom(0, 0.5, 1, 2, 3, 10) }),
    fc.record({ k: fc.constant('neg' as const), a: tie('tree') }),
    fc.record({ k: fc.constant('bin' as const), op: fc.constantFrom('+', '-', '*', '/', '^', '**'), a: tie('tree'), b: tie('tree') }),
    fc.record({ k: fc.constant('exp' as const), a: tie('tree') }),
  ),
})).tree;

/** Binding strength: + - 1, * / 2, unary minus 3, power 4, atoms 5. */
const strength = (t: Tree): number =>
  t.k === 'bin' ? (t.op === '+' || t.op === '-' ? 1 : t.op === '*' || t.op === '/' ? 2 : 4) : t.k === 'neg' ? 3 : 5;

function full(t: Tree): string {
  switch (t.k) {
    case 'name':
      return t.n;
    case 'num':
      return String(t.v);
    case 'neg':
      return `(-${full(t.a)})`;
    case 'exp':
      return `exp(${full(t.a)})`;
    case 'bin':
      return `(${full(t.a)} ${t.op} ${full(t.b)})`;
  }
}

/** With only the parentheses the grammar needs. */
function minimal(t: Tree): string {
  const wrap = (s: string, yes: boolean): string => (yes ? `(${s})` : s);
  switch (t.k) {
    case 'name':
    case 'num':
      return full(t);
    case 'neg':
      // a power binds tighter than unary minus: -x^2 needs none
      return `-${wrap(minimal(t.a), strength(t.a) < 3)}`;
    case 'exp':
      return `exp(${minimal(t.a)})`;
    case 'bin': {
      const p = strength(t);
      const power = p === 4;
      const left = wrap(minimal(t.a), strength(t.a) < p || (power && strength(t.a) === p));
      // a power's exponent may be a unary minus: x^-y^2 is x^(-(y^2))
      const right = wrap(minimal(t.b), power ? strength(t.b) < 3 : strength(t.b) < p || (strength(t.b) === p && !power));
      return `${left} ${t.op} ${right}`;
    }
  }
}

function jsValue(t: Tree, env: Record<string, number>): number {
  switch (t.k) {
    case 'name':
      return env[t.n];
    case 'num':
      return t.v;
    case 'neg':
      return -jsValue(t.a, env);
    case 'exp':
      return Math.exp(jsValue(t.a, env));
    case 'bin': {
      const a = jsValue(t.a, env);
      const b = jsValue(t.b, env);
      return t.op === '+' ? a + b : t.op === '-' ? a - b : t.op === '*' ? a * b : t.op === '/' ? a / b : a ** b;
    }
  }
}

describe('property: parentheses that change nothing change nothing', () => {
  const graphOf = (formula: string): WireGraph => ({ inputs: scalars('x', 'y', 'z'), define: { r: formula }, outputs: ['r'] });

  it('full and minimal parentheses expand to the same nodes', () => {
    fc.assert(
      fc.property(treeArb, (t) => {
        const a = expandDefinitions(graphOf(full(t)), DEFAULT_LIMITS).graph.nodes;
        const b = expandDefinitions(graphOf(minimal(t)), DEFAULT_LIMITS).graph.nodes;
        expect(b).toEqual(a);
      }),
      { numRuns: 300, seed: 20261203 },
    );
  });

  it('the minimal form evaluates to what JavaScript computes for the tree', async () => {
    const env = { x: 0.7, y: -1.3, z: 2 };
    await fc.assert(
      fc.asyncProperty(treeArb, async (t) => {
        const want = jsValue(t, env);
        const got = (await evaluate({ graph: graphOf(minimal(t)), args: env })).values.r as number;
        if (Number.isNaN(want)) expect(got).toBeNaN();
        else if (!Number.isFinite(want)) expect(got).toBe(want);
        else expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
      }),
      { numRuns: 60, seed: 20261203 },
    );
  });
});

describe('property: any text is a formula or a clear error, never a crash', () => {
  const pieces = [
    'x',
    'y',
    'f',
    'exp',
    'sum',
    '(',
    ')',
    '[',
    ']',
    ',',
    '=',
    '+',
    '-',
    '*',
    '/',
    '^',
    '**',
    '.',
    '?',
    ':',
    '<',
    '!',
    '"',
    "'",
    ' ',
    '1',
    '2.5',
    'e',
    'axes',
    'this',
    'true',
    '\\',
    '\u00e9',
    ';',
  ];
  const text = fc.array(fc.constantFrom(...pieces), { maxLength: 40 }).map((p) => p.join(''));

  it('checkGraph accepts it or throws a DerivdError naming graph.define.f', () => {
    fc.assert(
      fc.property(text, (formula) => {
        const graph: WireGraph = { inputs: [{ name: 'x', shape: [3] }, ...scalars('y')], define: { f: formula }, outputs: ['f'] };
        try {
          checkGraph(graph);
        } catch (err) {
          expect(err).toBeInstanceOf(DerivdError);
          expect((err as DerivdError).issues[0].path).toBe('graph.define.f');
        }
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});

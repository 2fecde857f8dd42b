/**
 * Batches of points (`batched`): every tensor of the result has the points as its
 * leading axis, and point b's slice is bit-identical to the call at point b alone,
 * for every operation and mode, on random graphs (test/helpers/random-graph.ts)
 * with random batched subsets, shared active inputs and constants. Then the seed
 * problem against its analytic derivative, the errors, and the limits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, operations, prepare, registerEngine, type Engine, type Result } from '../src/index.js';
import type { Operation } from '../src/graph/schema.js';
import { expectIssues } from './helpers/issues.js';
import { activeInputs, randomGraphCase, withScalarOutput, type GraphCase, type Nested } from './helpers/random-graph.js';
import { drdxs, graph as seedGraph, d, x } from './helpers/seed.js';

const SEED = Number(process.env.RANDOM_GRAPHS_SEED ?? 20_261_202);
const PACKED = { output: 'packed' } as const;
type Packed = { shape: number[]; data: Float64Array };
type Mode = 'forward' | 'reverse' | 'fd' | 'auto';

/** x moved by `by` everywhere: another point near the case's, so its domain stays safe enough. */
const shifted = (v: Nested, by: number): Nested => (Array.isArray(v) ? v.map((e) => shifted(e, by)) : v + by);

/** Every tensor of a result, by a path naming it (values.o, jacobian.o.i, ...). */
function tensorsOf(r: Result): Map<string, Packed> {
  const out = new Map<string, Packed>();
  const walk = (v: unknown, path: string): void => {
    if (v && typeof v === 'object' && 'data' in v && (v as Packed).data instanceof Float64Array) out.set(path, v as Packed);
    else if (v && typeof v === 'object') for (const [k, w] of Object.entries(v)) walk(w, `${path}.${k}`);
  };
  for (const key of ['values', 'jacobian', 'gradient', 'jvp', 'vjp', 'hessian', 'hvp'] as const) if (r[key]) walk(r[key], key);
  return out;
}

/** Point b of every batched tensor equals the single call's tensor, bit for bit (NaN and -0 included). */
function expectSlice(label: string, batched: Map<string, Packed>, single: Map<string, Packed>, b: number, points: number): void {
  expect([...batched.keys()].sort(), label).toEqual([...single.keys()].sort());
  for (const [path, t] of single) {
    const all = batched.get(path) as Packed;
    expect(all.shape, `${label} ${path}: shape`).toEqual([points, ...t.shape]);
    const n = t.data.length;
    for (let i = 0; i < n; i++) {
      if (!Object.is(all.data[b * n + i], t.data[i])) {
        throw new Error(`${label} ${path}[${b}] element ${i}: batched ${all.data[b * n + i]}, alone ${t.data[i]}`);
      }
    }
  }
}

interface BatchCase {
  c: GraphCase;
  points: number;
  batched: string[];
}

const batchCase = (scalar: boolean) =>
  fc
    .record({
      c: randomGraphCase({ maxNodes: 12 }),
      points: fc.integer({ min: 1, max: 3 }),
      pick: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    })
    .map(({ c, points, pick }): BatchCase => {
      const cc = scalar ? withScalarOutput(c, 'sumsq') : c;
      const names = cc.graph.inputs.map((i) => i.name);
      const chosen = names.filter((_, i) => pick[i % pick.length]);
      return { c: cc, points, batched: chosen.length > 0 ? chosen : [names[0]] };
    });

/** The request at point b (inputs of `batched` moved by 0.01·b, their tangents and vector entries by 0.1·b), and the batched request. */
function requests(bc: BatchCase, operation: Operation, mode: Mode) {
  const { c, points, batched } = bc;
  const isBatched = new Set(batched);
  const at = (b: number) => {
    const per = (map: Record<string, Nested>, by: number) =>
      Object.fromEntries(Object.entries(map).map(([k, v]) => [k, isBatched.has(k) ? shifted(v, by * b) : v]));
    const cot = Object.fromEntries(Object.entries(c.cotangents).map(([k, v]) => [k, shifted(v, 0.1 * b)]));
    return {
      graph: c.graph,
      args: per(c.args, 0.01),
      constant: c.constant,
      mode,
      ...(operation === 'jvp' ? { tangents: per(c.tangents, 0.1) } : {}),
      ...(operation === 'hvp' ? { vector: per(c.vector, 0.1) } : {}),
      ...(operation === 'vjp' ? { cotangents: cot } : {}),
    };
  };
  const singles = Array.from({ length: points }, (_, b) => at(b));
  const stack = (key: 'args' | 'tangents' | 'vector', all: boolean) => {
    const first = singles[0][key as 'args'] as Record<string, Nested>;
    return Object.fromEntries(
      Object.keys(first).map((k) => [
        k,
        all || isBatched.has(k) ? singles.map((s) => (s[key as 'args'] as Record<string, Nested>)[k]) : first[k],
      ]),
    );
  };
  const batch = {
    ...singles[0],
    batched,
    args: stack('args', false),
    ...(operation === 'jvp' ? { tangents: stack('tangents', false) } : {}),
    ...(operation === 'hvp' ? { vector: stack('vector', false) } : {}),
    ...(operation === 'vjp'
      ? {
          cotangents: Object.fromEntries(
            Object.keys(c.cotangents).map((k) => [k, singles.map((s) => (s.cotangents as Record<string, Nested>)[k])]),
          ),
        }
      : {}),
  };
  return { singles, batch };
}

async function expectSameAsAlone(bc: BatchCase, operation: Operation, mode: Mode): Promise<void> {
  const { singles, batch } = requests(bc, operation, mode);
  const label = `${operation} ${mode} B=${bc.points} batched=${bc.batched.join(',')}`;
  // Twice: lists are interpreted on their first run and compiled on their second (compile/execute.ts).
  const runs = [(await operations[operation](batch, PACKED)) as Result, (await operations[operation](batch, PACKED)) as Result];
  for (const all of runs) expect(all.stats.batch, label).toBe(bc.points);
  for (let b = 0; b < singles.length; b++) {
    const one = tensorsOf((await operations[operation](singles[b], PACKED)) as Result);
    runs.forEach((all, run) => {
      expectSlice(`${label} (run ${run + 1})`, tensorsOf(all), one, b, bc.points);
    });
  }
}

const MODES: Mode[] = ['forward', 'reverse', 'fd', 'auto'];

describe('a batch is the calls at each point, bit for bit', () => {
  it('evaluate, jacobian, jvp and vjp, every mode, on random graphs', async () => {
    await fc.assert(
      fc.asyncProperty(batchCase(false), async (bc) => {
        if (activeInputs(bc.c).length === 0) return;
        await expectSameAsAlone(bc, 'evaluate', 'auto');
        for (const mode of MODES) for (const op of ['jacobian', 'jvp', 'vjp'] as const) await expectSameAsAlone(bc, op, mode);
      }),
      { seed: SEED, numRuns: 120 },
    );
  });

  it('gradient, hessian and hvp, every mode, on random graphs with a scalar output', async () => {
    await fc.assert(
      fc.asyncProperty(batchCase(true), async (bc) => {
        if (activeInputs(bc.c).length === 0) return;
        for (const mode of MODES) for (const op of ['gradient', 'hessian', 'hvp'] as const) await expectSameAsAlone(bc, op, mode);
      }),
      { seed: SEED + 1, numRuns: 60 },
    );
  });
});

describe('the seed problem at many points', () => {
  const points = [-0.4, 0, 0.1, 0.35, 1];
  const request = { graph: seedGraph, args: { d, xs: points }, constant: ['d'], batched: ['xs'] };

  it('gives dr/dxs at each point, against the analytic derivative, with one forward direction', async () => {
    const r = await operations.jacobian(request, PACKED);
    expect(r.mode).toBe('forward');
    expect(r.stats).toMatchObject({ batch: points.length, directions: 1 });
    const block = r.jacobian.r.xs;
    expect(block.shape).toEqual([points.length, 21]);
    // drdxs is the analytic derivative at xs = 0.1, point 2
    for (let i = 0; i < 21; i++) expect(block.data[2 * 21 + i]).toBeCloseTo(drdxs[i], 12);
    // and the residual at each point is d - proj_f(d), orthogonal to f
    const values = r.values.r;
    for (let b = 0; b < points.length; b++) {
      const f = x.map((xi) => Math.exp(-1.5 * (xi - points[b]) ** 2));
      const dotRf = f.reduce((s, fi, i) => s + fi * values.data[b * 21 + i], 0);
      expect(Math.abs(dotRf)).toBeLessThan(1e-12);
    }
  });

  it('takes base64 points and returns base64 tensors with the leading axis', async () => {
    const data = Buffer.from(Float64Array.from(points).buffer).toString('base64');
    const r = await operations.jacobian(
      { ...request, args: { d, xs: { dtype: 'float64', shape: [points.length], data } }, encoding: 'base64' },
      { output: 'json' },
    );
    expect((r.jacobian.r.xs as { shape: number[] }).shape).toEqual([points.length, 21]);
  });
});

describe('what a batch refuses', () => {
  const seed = { graph: seedGraph, constant: ['d'] };

  it('names no input, twice the same input', () => {
    expectIssues(() => prepare('jacobian', { ...seed, args: { d, xs: [0, 1] }, batched: ['xs', 'q', 'xs'] }), 'invalid_graph', [
      ['batched[1]', '"q" names no input', 'expected one of "d", "xs"'],
      ['batched[2]', 'duplicate batched input "xs"'],
    ]);
  });

  it('points that do not agree, a batched argument without a leading axis, no points', () => {
    expectIssues(() => prepare('jacobian', { ...seed, args: { d: [d, d], xs: [0, 1, 2] }, batched: ['d', 'xs'] }), 'invalid_graph', [
      ['args.xs', '"xs" has 3 points', '"d" has 2', 'same number of points'],
    ]);
    expectIssues(() => prepare('jacobian', { ...seed, args: { d, xs: 0.5 }, batched: ['xs'] }), 'invalid_graph', [
      ['args.xs', 'input "xs" is batched', 'leading axis'],
    ]);
    expectIssues(() => prepare('jacobian', { ...seed, args: { d, xs: [] }, batched: ['xs'] }), 'invalid_graph', [
      ['args.xs', 'at least one point'],
    ]);
  });

  it('a point of the wrong shape, at its path', () => {
    expectIssues(() => prepare('jacobian', { ...seed, args: { d: [d, d.slice(1)], xs: [0, 1] }, batched: ['d', 'xs'] }), 'invalid_graph', [
      ['args.d[1]', 'expected'],
    ]);
  });

  it('B times the largest value over MAX_ELEMENTS, and B times the Jacobian', () => {
    const limits = { ...DEFAULT_LIMITS, maxElements: 1000 };
    const xs = Array.from({ length: 60 }, (_, i) => i / 60);
    expectIssues(() => prepare('evaluate', { ...seed, args: { d, xs }, batched: ['xs'] }, { limits }), 'limit_exceeded', [
      ['batched', '60 points', 'largest value (21 elements)', 'MAX_ELEMENTS (1000)'],
    ]);
    expectIssues(
      () =>
        prepare(
          'jacobian',
          { graph: seedGraph, args: { d: xs.slice(0, 40).map(() => d), xs: xs.slice(0, 40) }, batched: ['d', 'xs'] },
          { limits },
        ),
      'limit_exceeded',
      [['graph', 'd', 'MAX_ELEMENTS (1000)']],
    );
  });

  it('an engine that does not declare batches', () => {
    const plain: Engine = {
      name: 'no-batches',
      jacobian: () => ({ blocks: [], directions: 0 }),
      hessian: () => ({ blocks: [], directions: 0 }),
    };
    registerEngine(plain);
    expectIssues(() => prepare('jacobian', { ...seed, args: { d, xs: [0, 1] }, batched: ['xs'], mode: 'no-batches' }), 'invalid_request', [
      ['batched', 'engine "no-batches" does not compute batches'],
    ]);
  });
});

/**
 * Batch kernels (OpDef.batchKernel): over k entries, each entry's bits are the
 * kernel's for that entry alone, whichever arguments carry the batch. Every op
 * that has one is listed here, so a new one cannot go untested.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProgramBuilder } from '../ir/builder.js';
import { ProgramStep } from '../ir/step.js';
import { sizeOf, type Shape } from '../tensor/tensor.js';
import { ALL_OPS, getOp } from './registry.js';
import type { OpAttrs, OpName } from './vocabulary.js';

interface Case {
  name: OpName;
  inShapes: Shape[];
  attrs: OpAttrs[OpName];
  batched: boolean[];
}

/** Runs the op both ways on random data and compares entry by entry, bit for bit (NaN and -0 included). */
function expectSameBits({ name, inShapes, attrs, batched }: Case, k: number, seed: number): void {
  const op = getOp(name);
  const outShape = op.shape(inShapes, attrs as never);
  const m = sizeOf(outShape);
  let state = seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const u = state / 2 ** 32;
    return u < 0.02 ? Number.NaN : u < 0.04 ? -0 : 4 * u - 2;
  };
  const ins = inShapes.map((s, i) => Float64Array.from({ length: sizeOf(s) * (batched[i] ? k : 1) }, next));
  const all = new Float64Array(k * m);
  op.batchKernel?.(ins, inShapes, batched, k, all, outShape, attrs as never);
  for (let e = 0; e < k; e++) {
    const views = ins.map((x, i) => (batched[i] ? x.subarray(e * sizeOf(inShapes[i]), (e + 1) * sizeOf(inShapes[i])) : x));
    const one = new Float64Array(m);
    op.kernel(views, inShapes, one, outShape, attrs as never);
    for (let j = 0; j < m; j++) {
      if (!Object.is(all[e * m + j], one[j])) throw new Error(`${name} entry ${e} element ${j}: batch ${all[e * m + j]}, alone ${one[j]}`);
    }
  }
}

const shape = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 });

/** A scan body over a carry of shape s (and a row x of the same shape): sin(c x) + sum(c) / 4, or sin(c) + sum(c) / 4. */
function scanBody(s: Shape, withX: boolean): ProgramStep {
  const e = new ProgramBuilder();
  const c = e.input(s);
  const x = withX ? e.input(s) : undefined;
  const total = e.sum(
    c,
    s.map((_, i) => i),
    true,
  );
  const output = e.add(e.apply('sin', [x === undefined ? c : e.mul(c, x)]), e.mul(total, e.literal(0.25)));
  return new ProgramStep({ program: e.program(), inputs: x === undefined ? [c] : [c, x], output }, 'step');
}

const CASES: Record<string, fc.Arbitrary<Case>> = {
  scan: fc
    .record({
      s: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 2 }),
      length: fc.integer({ min: 0, max: 4 }),
      withX: fc.boolean(),
      reverse: fc.boolean(),
      batched: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
    })
    .filter(({ withX, batched }) => batched[0] || (withX && batched[1]))
    .map(({ s, length, withX, reverse, batched }) => ({
      name: 'scan' as OpName,
      inShapes: withX ? [s, [length, ...s]] : [s],
      attrs: { function: 'step', length, reverse, body: scanBody(s, withX) } as OpAttrs[OpName],
      batched: withX ? batched : [true],
    })),
  sum: shape.chain((s) =>
    fc
      .record({ keep: fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }), keepdims: fc.boolean() })
      .map(({ keep, keepdims }) => ({
        name: 'sum' as OpName,
        inShapes: [s],
        attrs: { axes: s.map((_, i) => i).filter((i) => keep[i]), keepdims } as OpAttrs[OpName],
        batched: [true],
      })),
  ),
  dot: fc
    .record({ n: fc.integer({ min: 0, max: 7 }), a: fc.boolean(), b: fc.boolean() })
    .filter(({ a, b }) => a || b)
    .map(({ n, a, b }) => ({ name: 'dot' as OpName, inShapes: [[n], [n]], attrs: {} as OpAttrs[OpName], batched: [a, b] })),
  // a [..., n, n] and b [n] or [..., n, m], batch dimensions broadcasting either way
  solve: fc
    .record({
      n: fc.integer({ min: 0, max: 4 }),
      m: fc.integer({ min: 0, max: 3 }),
      vector: fc.boolean(),
      ab: fc.array(fc.constantFrom(1, 2), { maxLength: 2 }),
      bb: fc.array(fc.constantFrom(1, 2), { maxLength: 2 }),
      transpose: fc.boolean(),
      a: fc.boolean(),
      b: fc.boolean(),
    })
    .map(({ n, m, vector, ab, bb, transpose, a, b }) => ({
      name: 'solve' as OpName,
      inShapes: [[...ab, n, n], vector ? [n] : [...bb, n, m]],
      attrs: (transpose ? { transpose } : {}) as OpAttrs[OpName],
      batched: [a, b],
    })),
};

describe('batch kernels compute each entry as the kernel does alone', () => {
  it('every op with a batch kernel has cases here', () => {
    expect(
      ALL_OPS.filter((op) => op.batchKernel)
        .map((op) => op.name)
        .sort(),
    ).toEqual(Object.keys(CASES).sort());
  });

  for (const [name, cases] of Object.entries(CASES)) {
    it(name, () => {
      fc.assert(
        fc.property(cases, fc.integer({ min: 1, max: 5 }), fc.integer(), (c, k, seed) => {
          expectSameBits(c, k, seed);
        }),
        { numRuns: 200 },
      );
    });
  }
});

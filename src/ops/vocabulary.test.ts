/**
 * The vocabulary at the type level: each `@ts-expect-error` below is a mistake the
 * types must reject. If one stops being an error, typecheck (part of npm test)
 * fails on the unused directive. The mistakes sit in a function that never runs.
 */
import { describe, expect, it } from 'vitest';
import { ProgramBuilder } from '../ir/builder.js';
import { getOp, WIRE_OPS } from './registry.js';
import type { Emit, OpDef, ValueId } from './types.js';

// biome-ignore lint/suspicious/noExportsInTest: exported so that a function that only exists to be type-checked is not an unused local
export function mistakes(e: Emit, x: ValueId): void {
  // @ts-expect-error: no op is named coss
  e.apply('coss', [x]);
  // @ts-expect-error: sum's attributes are required
  e.apply('sum', [x]);
  // @ts-expect-error: keepdims is missing
  e.apply('sum', [x], { axes: [0] });
  // @ts-expect-error: keepdims is a boolean
  e.apply('sum', [x], { axes: [0], keepdims: 'yes' });
  // @ts-expect-error: sin has no attributes
  e.apply('sin', [x], { axes: [0] });
  // @ts-expect-error: first_winner's kind is 'max' or 'min'
  e.apply('first_winner', [x], { axes: [0], kind: 'argmax' });
  // @ts-expect-error: a plain number is not a value id
  e.apply('neg', [0]);
  // @ts-expect-error: nor is arithmetic on one
  e.add(x, x + 1);
  // @ts-expect-error: getOp takes op names only (findOp takes strings from the wire)
  getOp('coss');
  // @ts-expect-error: a definition's name is in the vocabulary
  const unknown: OpDef<'coss'> | undefined = undefined;
  // @ts-expect-error: a definition's attributes are its name's (range's prepare does not make fill's)
  const misnamed: OpDef<'fill'> = { ...getOp('range'), name: 'fill' };
  void unknown;
  void misnamed;
}

describe('the vocabulary', () => {
  it('types the uses it accepts: attributes optional only when the op needs none', () => {
    const e = new ProgramBuilder();
    const x = e.input([2, 3]);
    expect(e.shapeOf(e.apply('sum', [x], { axes: [0], keepdims: false }))).toEqual([3]);
    expect(e.shapeOf(e.apply('matmul', [x, e.apply('transpose', [x], { perm: [1, 0] })]))).toEqual([2, 2]);
    expect(getOp('sum').name).toBe('sum');
  });

  it('an op without prepare has no wire attributes, so graph checking gives its kernel {}', () => {
    for (const op of WIRE_OPS) if (!op.prepare) expect(Object.keys(op.attrs), op.name).toEqual([]);
  });
});

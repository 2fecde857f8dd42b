/**
 * An op's inline template (what fused loops write instead of calling its scalar
 * function) gives the scalar function's bits on every input, special values
 * included: Object.is per result, so -0 against 0 and NaN count.
 */
import { describe, expect, test } from 'vitest';
import { expression, js, name } from '../compile/code.js';
import { instantiate } from '../compile/new-function.js';
import { ALL_OPS } from './registry.js';

const SPECIAL = [0, -0, 1, -1, 0.5, -2.5, 3, 1e-300, -1e300, 1e308, Number.MIN_VALUE, Infinity, -Infinity, NaN];

function* tuples(arity: number): Generator<number[]> {
  if (arity === 0) {
    yield [];
    return;
  }
  for (const rest of tuples(arity - 1)) for (const x of SPECIAL) yield [...rest, x];
}

describe('inline templates', () => {
  const inlined = ALL_OPS.filter((op) => op.inline !== undefined);

  test('the common arithmetic of derivative programs is inlined', () => {
    expect(inlined.map((op) => op.name).sort()).toEqual(expect.arrayContaining(['add', 'mul', 'neg', 'sub', 'zmul']));
  });

  for (const op of inlined) {
    test(`${op.name}: the same bits as its scalar function`, () => {
      const arity = op.perElement?.length ?? 0;
      const params = Array.from({ length: arity }, (_, i) => name('v', i));
      const f = instantiate<(...xs: number[]) => number>(
        [],
        js`return function (${params.reduce((a, p, i) => (i === 0 ? p : js`${a}, ${p}`), js``)}) { return ${expression(op.inline as string, params)}; };`,
        [],
      );
      for (const xs of tuples(arity)) {
        const want = (op.perElement as (...xs: number[]) => number)(...xs);
        expect(Object.is(f(...xs), want), `${op.name}(${xs.join(', ')})`).toBe(true);
      }
    });
  }
});

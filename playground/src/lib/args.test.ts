import { describe, expect, test } from 'vitest';
import { ArgError, linspace, parseArg, randomUniform } from './args.js';

describe('argument values', () => {
  test('linspace includes both ends and is evenly spaced', () => {
    expect(linspace(-10, 10, 21)).toEqual(Array.from({ length: 21 }, (_, i) => i - 10));
    expect(linspace(2, 5, 1)).toEqual([2]);
  });

  test('random(seed) repeats for one seed, differs between seeds, stays in [lo, hi)', () => {
    const a = randomUniform(7, 100, -2, 3);
    expect(randomUniform(7, 100, -2, 3)).toEqual(a);
    expect(randomUniform(8, 100, -2, 3)).not.toEqual(a);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...a)).toBeLessThan(3);
  });

  test('generators fill the input shape, nested', () => {
    expect(parseArg('linspace(0, 1)', [2, 2])).toEqual([
      [0, 1 / 3],
      [2 / 3, 1],
    ]);
    expect(parseArg('fill(4)', [])).toBe(4);
    expect(parseArg(' random(1) ', [3])).toEqual(randomUniform(1, 3));
  });

  test('JSON values are checked against the shape, with the place that is wrong', () => {
    expect(parseArg('[[1, 2], [3, 4]]', [2, 2])).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(() => parseArg('[[1, 2], [3]]', [2, 2])).toThrow('expected 2 entries at [1] for shape [2]');
    expect(() => parseArg('[1]', [])).toThrow('expected a number');
    expect(() => parseArg('linspace(1)', [3])).toThrow(ArgError);
    expect(() => parseArg('oops', [3])).toThrow('expected a number, a JSON array');
  });
});

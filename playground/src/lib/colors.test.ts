import { describe, expect, test } from 'vitest';
import { diverging, divergingOrSpecial, sequential, symmetricLimit } from './colors.js';

const lightness = ([r, g, b]: number[]): number => 0.2126 * r + 0.7152 * g + 0.0722 * b;

describe('colour scales', () => {
  test('sequential runs from viridis dark purple to yellow, lighter all the way', () => {
    expect(sequential(0)).toEqual([68, 1, 84]);
    expect(sequential(1)).toEqual([253, 231, 37]);
    expect(sequential(-5)).toEqual(sequential(0));
    let last = -1;
    for (let t = 0; t <= 1; t += 0.01) {
      const l = lightness(sequential(t));
      expect(l).toBeGreaterThan(last);
      last = l;
    }
  });

  test('diverging is white at 0, blue below, red above, darkest at the limits', () => {
    expect(diverging(0, 3)).toEqual([247, 247, 247]);
    const [r1, , b1] = diverging(-1, 3);
    expect(b1).toBeGreaterThan(r1);
    const [r2, , b2] = diverging(1, 3);
    expect(r2).toBeGreaterThan(b2);
    expect(diverging(-3, 3)).toEqual([5, 48, 97]);
    expect(diverging(3, 3)).toEqual([103, 0, 31]);
    expect(diverging(30, 3)).toEqual(diverging(3, 3));
    // symmetric: ±v equally far from white
    expect(lightness(diverging(-2, 3))).toBeLessThan(lightness(diverging(0, 3)));
    expect(lightness(diverging(2, 3))).toBeLessThan(lightness(diverging(0, 3)));
  });

  test('an all-zero block is white, not a division by zero; non-finite entries stay visible', () => {
    expect(diverging(0, 0)).toEqual([247, 247, 247]);
    expect(divergingOrSpecial(Number.NaN, 1)).toEqual([128, 128, 128]);
    expect(divergingOrSpecial(Number.POSITIVE_INFINITY, 1)).toEqual([103, 0, 31]);
    expect(symmetricLimit([1, -4, Number.POSITIVE_INFINITY, 2])).toBe(4);
  });
});

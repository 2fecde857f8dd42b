/**
 * Colour scales readable by colour-blind viewers: a viridis-like sequential scale
 * (dark purple → blue → green → yellow, monotone in lightness) for values, and a
 * blue–white–red diverging scale centred on 0 for derivatives (the sign is the
 * hue, the magnitude the saturation), as ColorBrewer's RdBu.
 */
export type Rgb = [number, number, number];

const VIRIDIS: Rgb[] = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 74, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [109, 205, 89],
  [180, 222, 44],
  [253, 231, 37],
];

/** RdBu reversed: negative blue, 0 white, positive red. */
const DIVERGING: Rgb[] = [
  [5, 48, 97],
  [33, 102, 172],
  [67, 147, 195],
  [146, 197, 222],
  [209, 229, 240],
  [247, 247, 247],
  [253, 219, 199],
  [244, 165, 130],
  [214, 96, 77],
  [178, 24, 43],
  [103, 0, 31],
];

function ramp(stops: readonly Rgb[], t: number): Rgb {
  const u = Math.min(1, Math.max(0, Number.isNaN(t) ? 0 : t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(u));
  const f = u - i;
  const [a, b] = [stops[i], stops[i + 1]];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as Rgb;
}

/** t in [0, 1] (clamped) on the sequential scale. */
export const sequential = (t: number): Rgb => ramp(VIRIDIS, t);

/** v on the diverging scale for values in [-limit, limit]: 0 is white, ±limit the darkest blue or red. */
export function diverging(v: number, limit: number): Rgb {
  if (!(limit > 0) || !Number.isFinite(v)) return ramp(DIVERGING, 0.5);
  return ramp(DIVERGING, 0.5 + v / (2 * limit));
}

/** Grey for NaN, the darkest ends for ±Infinity: a non-finite entry stays visible. */
export function divergingOrSpecial(v: number, limit: number): Rgb {
  if (Number.isNaN(v)) return [128, 128, 128];
  if (v === Number.POSITIVE_INFINITY) return DIVERGING[DIVERGING.length - 1];
  if (v === Number.NEGATIVE_INFINITY) return DIVERGING[0];
  return diverging(v, limit);
}

/** The largest finite |v|: the symmetric limit of a diverging scale. */
export function symmetricLimit(values: readonly number[]): number {
  let m = 0;
  for (const v of values) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m;
}

export const css = ([r, g, b]: Rgb): string => `rgb(${r}, ${g}, ${b})`;

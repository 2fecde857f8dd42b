/**
 * Star colouring of a symmetric pattern's adjacency graph (Gebremedhin, Manne and
 * Pothen, "What color is your Jacobian?", 2005): adjacent vertices differ and every
 * path on four vertices uses at least three colours, so each two-coloured piece is
 * a star. A distance-2 column colouring ignores that H[i][j] = H[j][i]; a star
 * colouring relies on it and often needs far fewer colours (an arrowhead: 2, not n),
 * and every entry is still read directly from one compressed row: of an edge's two
 * endpoints, at least one has a colour no other neighbour of the other shares.
 */
import type { Pattern } from './sparsity.js';

/** Per pattern entry: the row, and the colour of the compressed sweep, its value is read from. */
export interface SymmetricRecovery {
  readonly row: Int32Array;
  readonly colour: Int32Array;
}

/**
 * The adjacency graph of an n × n pattern: i and j adjacent when (i, j) or (j, i) is
 * in it, i ≠ j. A conservative pattern need not be symmetric itself; its values are.
 */
export function adjacencyOf(n: number, byRow: Pattern, byCol: Pattern): Pattern {
  const ptr = new Int32Array(n + 1);
  const idx = new Int32Array(byRow.idx.length + byCol.idx.length);
  let at = 0;
  for (let i = 0; i < n; i++) {
    // both rows are ascending: merge them
    let a = byRow.ptr[i];
    let b = byCol.ptr[i];
    const aEnd = byRow.ptr[i + 1];
    const bEnd = byCol.ptr[i + 1];
    while (a < aEnd || b < bEnd) {
      const x = a < aEnd ? byRow.idx[a] : n;
      const y = b < bEnd ? byCol.idx[b] : n;
      const j = Math.min(x, y);
      if (x === j) a++;
      if (y === j) b++;
      if (j !== i) idx[at++] = j;
    }
    ptr[i + 1] = at;
  }
  return { ptr, idx: idx.slice(0, at) };
}

/** Vertices by degree, largest first, ties by number: hubs take the first colours, so their leaves can share one. */
export function largestFirst(adj: Pattern): Int32Array {
  const n = adj.ptr.length - 1;
  let top = 0;
  for (let v = 0; v < n; v++) top = Math.max(top, adj.ptr[v + 1] - adj.ptr[v]);
  const start = new Int32Array(top + 2);
  for (let v = 0; v < n; v++) start[top - (adj.ptr[v + 1] - adj.ptr[v]) + 1]++;
  for (let d = 0; d <= top; d++) start[d + 1] += start[d];
  const order = new Int32Array(n);
  for (let v = 0; v < n; v++) order[start[top - (adj.ptr[v + 1] - adj.ptr[v])]++] = v;
  return order;
}

/**
 * Greedy star colouring (GMP 2005, the first star colouring algorithm) in largest-first
 * order: a vertex v may not take
 * - a neighbour's colour;
 * - the colour of a vertex x two steps away through an uncoloured w (so any two coloured
 *   neighbours of a vertex differ until it is coloured itself, and a path with v in
 *   its middle can never be two-coloured);
 * - the colour of x two steps away through a coloured w when x already has another
 *   neighbour of w's colour (x is then a star's centre, and v-w-x-y would be a
 *   two-coloured path).
 * For the last, each coloured w keeps the neighbours that are such centres, so a hub's
 * leaves do not each walk its whole neighbourhood: an arrowhead colours in linear time.
 * Undefined when it would cost more than `budget` neighbour visits.
 */
export function starColouring(
  adj: Pattern,
  budget: number,
  order: Int32Array = largestFirst(adj),
): { colour: Int32Array; count: number } | undefined {
  const n = adj.ptr.length - 1;
  const { ptr, idx } = adj;
  const colour = new Int32Array(n).fill(-1);
  const forbiddenFor = new Int32Array(n + 1).fill(-1); // forbiddenFor[c] = the last vertex colour c was forbidden for
  // The colours among x's coloured neighbours, at most its degree: colours[ptr[x] + t] for
  // t < seen[x], each with its one neighbour of that colour, or MANY (a short scan: at
  // most as long as the colours used, so a hub's is short too)
  const seen = new Int32Array(n);
  const colours = new Int32Array(idx.length);
  const ofColour = new Int32Array(idx.length);
  // centres[w]: coloured neighbours x of w with another neighbour of w's colour
  const centres: (number[] | undefined)[] = new Array(n);
  const addCentre = (w: number, x: number): void => {
    const xs = centres[w];
    if (xs) xs.push(x);
    else centres[w] = [x];
  };
  let count = 0;
  let visits = 0;
  for (const v of order) {
    for (let k = ptr[v]; k < ptr[v + 1]; k++) {
      const w = idx[k];
      const cw = colour[w];
      if (cw >= 0) {
        forbiddenFor[cw] = v;
        const xs = centres[w] ?? [];
        visits += xs.length;
        for (const x of xs) forbiddenFor[colour[x]] = v;
      } else {
        visits += ptr[w + 1] - ptr[w];
        for (let q = ptr[w]; q < ptr[w + 1]; q++) if (colour[idx[q]] >= 0) forbiddenFor[colour[idx[q]]] = v;
      }
    }
    visits += ptr[v + 1] - ptr[v];
    if (visits > budget) return undefined;
    let c = 0;
    while (forbiddenFor[c] === v) c++;
    colour[v] = c;
    if (c + 1 > count) count = c + 1;
    for (let k = ptr[v]; k < ptr[v + 1]; k++) {
      const x = idx[k];
      let t = ptr[x];
      const end = t + seen[x];
      while (t < end && colours[t] !== c) t++;
      visits += t - ptr[x];
      if (t === end) {
        colours[t] = c;
        ofColour[t] = v;
        seen[x]++;
        continue;
      }
      // x now has two or more neighbours of colour c (coloured x only: an uncoloured one's differ)
      if (ofColour[t] !== MANY) {
        addCentre(ofColour[t], x);
        ofColour[t] = MANY;
      }
      addCentre(v, x);
    }
  }
  return { colour, count };
}

const MANY = -1;

/**
 * Where each entry (i, j) of `byRow` is read after compressed sweeps seeded by a star
 * colouring of `adj`: from row i at j's colour when no other neighbour of i has that
 * colour, else from row j at i's colour (the star property makes one of them so; the
 * two entries are equal). A diagonal entry is its own row's, at its own colour.
 */
export function symmetricRecovery(byRow: Pattern, adj: Pattern, colour: Int32Array, count: number): SymmetricRecovery {
  const n = byRow.ptr.length - 1;
  const row = new Int32Array(byRow.idx.length);
  const from = new Int32Array(byRow.idx.length);
  const seen = new Int32Array(count); // seen[c]: i's neighbours of colour c, while row i is read
  for (let i = 0; i < n; i++) {
    for (let k = adj.ptr[i]; k < adj.ptr[i + 1]; k++) seen[colour[adj.idx[k]]]++;
    for (let k = byRow.ptr[i]; k < byRow.ptr[i + 1]; k++) {
      const j = byRow.idx[k];
      const own = j === i || seen[colour[j]] === 1;
      row[k] = own ? i : j;
      from[k] = own ? colour[j] : colour[i];
    }
    for (let k = adj.ptr[i]; k < adj.ptr[i + 1]; k++) seen[colour[adj.idx[k]]] = 0;
  }
  return { row, colour: from };
}

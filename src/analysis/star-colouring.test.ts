/**
 * Star colouring on synthetic symmetric patterns: an arrowhead takes 2 colours
 * wherever its hub is, a path 3; on random patterns the colouring is a star
 * colouring (adjacent vertices differ, no path on four vertices is two-coloured), and
 * the entries read back from the compressed products H S are H's, exactly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { greedyColouring } from './colouring.js';
import type { Pattern } from './sparsity.js';
import { adjacencyOf, starColouring, symmetricRecovery } from './star-colouring.js';

/** A pattern from each row's columns (sorted here). */
function patternOf(rows: readonly (readonly number[])[]): Pattern {
  const ptr = new Int32Array(rows.length + 1);
  const idx: number[] = [];
  rows.forEach((cols, i) => {
    idx.push(...[...new Set(cols)].sort((a, b) => a - b));
    ptr[i + 1] = idx.length;
  });
  return { ptr, idx: Int32Array.from(idx) };
}

function transposeOf(p: Pattern): Pattern {
  const n = p.ptr.length - 1;
  const rows: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) for (let k = p.ptr[i]; k < p.ptr[i + 1]; k++) rows[p.idx[k]].push(i);
  return patternOf(rows);
}

const neighbours = (adj: Pattern, v: number): number[] => Array.from(adj.idx.subarray(adj.ptr[v], adj.ptr[v + 1]));

/** Throws unless adjacent vertices differ and every path a-b-c-d uses at least three colours. */
function expectStar(adj: Pattern, colour: Int32Array): void {
  const n = adj.ptr.length - 1;
  for (let b = 0; b < n; b++) {
    for (const c of neighbours(adj, b)) {
      if (colour[b] === colour[c]) throw new Error(`adjacent ${b} and ${c} share colour ${colour[b]}`);
      for (const a of neighbours(adj, b)) {
        if (a === c || colour[a] !== colour[c]) continue;
        for (const d of neighbours(adj, c)) {
          if (d !== b && d !== a && colour[d] === colour[b]) throw new Error(`path ${a}-${b}-${c}-${d} has two colours`);
        }
      }
    }
  }
}

const arrowhead = (n: number, hub: number): Pattern =>
  patternOf(Array.from({ length: n }, (_, i) => (i === hub ? Array.from({ length: n }, (_, j) => j) : [hub, i])));

const colourOf = (p: Pattern, order?: Int32Array) => {
  const n = p.ptr.length - 1;
  const adj = adjacencyOf(n, p, transposeOf(p));
  const c = starColouring(adj, 1e9, order);
  if (!c) throw new Error('over budget');
  expectStar(adj, c.colour);
  return { ...c, adj };
};

describe('star colouring', () => {
  it('an arrowhead in 2 colours, its hub first or last; distance-2 needs n', () => {
    const n = 100;
    for (const hub of [0, 57, n - 1]) {
      const p = arrowhead(n, hub);
      expect(colourOf(p).count, `hub ${hub}`).toBe(2);
      expect(greedyColouring(n, p, p, 1e9)?.count).toBe(n);
    }
    // in natural order the leaves before a late hub are coloured as if two steps apart: largest-first avoids that
    expect(
      colourOf(
        arrowhead(n, n - 1),
        Int32Array.from({ length: n }, (_, i) => i),
      ).count,
    ).toBeGreaterThan(2);
  });

  it('a path (tridiagonal) in 3 colours, a diagonal in 1', () => {
    const n = 50;
    const path = patternOf(Array.from({ length: n }, (_, i) => [i - 1, i, i + 1].filter((j) => j >= 0 && j < n)));
    expect(colourOf(path).count).toBe(3);
    expect(colourOf(patternOf(Array.from({ length: n }, (_, i) => [i]))).count).toBe(1);
  });

  it('the adjacency graph is the pattern and its transpose, without the diagonal', () => {
    const p = patternOf([[0, 2], [1], [2, 1]]);
    const adj = adjacencyOf(3, p, transposeOf(p));
    expect([0, 1, 2].map((v) => neighbours(adj, v))).toEqual([[2], [2], [0, 1]]);
  });

  it('undefined past its budget', () => {
    const p = arrowhead(30, 0);
    expect(starColouring(adjacencyOf(30, p, p), 10)).toBeUndefined();
  });
});

/** A random symmetric n × n pattern (diagonal entries by chance), and extra one-sided entries a conservative pattern may hold. */
const randomSymmetric = fc.integer({ min: 1, max: 24 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    edges: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 3 * n }),
    oneSided: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 3 }),
    values: fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: n * n, maxLength: n * n }),
  }),
);

describe('star colouring on random symmetric patterns', () => {
  it('is a star colouring, and direct symmetric recovery reads every entry exactly', () => {
    fc.assert(
      fc.property(randomSymmetric, ({ n, edges, oneSided, values }) => {
        // H symmetric on the edges; a one-sided entry of the pattern is 0 (the pattern is conservative)
        const H = Array.from({ length: n }, () => new Float64Array(n));
        const rows: number[][] = Array.from({ length: n }, () => []);
        for (const [i, j] of edges) {
          H[i][j] = H[j][i] = values[Math.min(i, j) * n + Math.max(i, j)];
          rows[i].push(j);
          rows[j].push(i);
        }
        for (const [i, j] of oneSided) if (H[i][j] === 0) rows[i].push(j);
        const p = patternOf(rows);
        const { colour, count, adj } = colourOf(p);
        // B = H S: column c sums H's columns of colour c
        const B = Array.from({ length: n }, (_, i) => {
          const row = new Float64Array(count);
          for (let j = 0; j < n; j++) row[colour[j]] += H[i][j];
          return row;
        });
        const r = symmetricRecovery(p, adj, colour, count);
        for (let i = 0; i < n; i++) {
          for (let k = p.ptr[i]; k < p.ptr[i + 1]; k++) {
            const j = p.idx[k];
            const got = B[r.row[k]][r.colour[k]];
            if (got !== H[i][j]) throw new Error(`H[${i}][${j}] = ${H[i][j]}, read ${got} from row ${r.row[k]}, colour ${r.colour[k]}`);
          }
        }
      }),
      { seed: 20261209, numRuns: 400 },
    );
  });
});

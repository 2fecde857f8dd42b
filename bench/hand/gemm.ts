/**
 * C = A B in f64, register-blocked 2 × 4 (eight accumulators in registers, each A
 * and B element loaded once per block): the plain-JS matrix product the net
 * references use. Strided, so one kernel serves A B, A Bᵀ and Aᵀ B:
 *   A(i, p) = a[i·ai + p·ap],  B(p, j) = b[p·bp + j·bj],  C (m × n) row-major.
 * `c` is overwritten.
 */
export function gemm(
  m: number,
  n: number,
  k: number,
  a: Float64Array,
  ai: number,
  ap: number,
  b: Float64Array,
  bp: number,
  bj: number,
  c: Float64Array,
): void {
  let i = 0;
  for (; i + 1 < m; i += 2) {
    let j = 0;
    for (; j + 3 < n; j += 4) {
      let c00 = 0;
      let c01 = 0;
      let c02 = 0;
      let c03 = 0;
      let c10 = 0;
      let c11 = 0;
      let c12 = 0;
      let c13 = 0;
      let ao = i * ai;
      let bo = j * bj;
      for (let p = 0; p < k; p++) {
        const a0 = a[ao];
        const a1 = a[ao + ai];
        const b0 = b[bo];
        const b1 = b[bo + bj];
        const b2 = b[bo + 2 * bj];
        const b3 = b[bo + 3 * bj];
        c00 += a0 * b0;
        c01 += a0 * b1;
        c02 += a0 * b2;
        c03 += a0 * b3;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c12 += a1 * b2;
        c13 += a1 * b3;
        ao += ap;
        bo += bp;
      }
      const r0 = i * n + j;
      const r1 = r0 + n;
      c[r0] = c00;
      c[r0 + 1] = c01;
      c[r0 + 2] = c02;
      c[r0 + 3] = c03;
      c[r1] = c10;
      c[r1 + 1] = c11;
      c[r1 + 2] = c12;
      c[r1 + 3] = c13;
    }
    for (; j < n; j++) {
      c[i * n + j] = dotAt(k, a, i * ai, ap, b, j * bj, bp);
      c[(i + 1) * n + j] = dotAt(k, a, (i + 1) * ai, ap, b, j * bj, bp);
    }
  }
  for (; i < m; i++) for (let j = 0; j < n; j++) c[i * n + j] = dotAt(k, a, i * ai, ap, b, j * bj, bp);
}

function dotAt(k: number, a: Float64Array, ao: number, ap: number, b: Float64Array, bo: number, bp: number): number {
  let s = 0;
  for (let p = 0; p < k; p++) s += a[ao + p * ap] * b[bo + p * bp];
  return s;
}

/**
 * C = A B in f64, register-blocked 2 × 4: eight accumulators stay in registers and
 * each element of A and B is loaded once per block. Strided, so one kernel serves
 * the stored layouts of matmul and its reverse rules:
 *   A(i, p) = a[ao + i·ai + p·ap],  B(p, j) = b[bo + p·bp + j·bj],  C[co + i·n + j] (m × n).
 * Each C[i, j] is summed from 0 over p in order, as a plain triple loop sums it, so
 * results are the same bits whatever the blocking.
 */
export function gemm(
  m: number,
  n: number,
  k: number,
  a: Float64Array,
  ao: number,
  ai: number,
  ap: number,
  b: Float64Array,
  bo: number,
  bp: number,
  bj: number,
  c: Float64Array,
  co: number,
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
      let pa = ao + i * ai;
      let pb = bo + j * bj;
      for (let p = 0; p < k; p++) {
        const a0 = a[pa];
        const a1 = a[pa + ai];
        const b0 = b[pb];
        const b1 = b[pb + bj];
        const b2 = b[pb + 2 * bj];
        const b3 = b[pb + 3 * bj];
        c00 += a0 * b0;
        c01 += a0 * b1;
        c02 += a0 * b2;
        c03 += a0 * b3;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c12 += a1 * b2;
        c13 += a1 * b3;
        pa += ap;
        pb += bp;
      }
      const r0 = co + i * n + j;
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
      c[co + i * n + j] = dotAt(k, a, ao + i * ai, ap, b, bo + j * bj, bp);
      c[co + (i + 1) * n + j] = dotAt(k, a, ao + (i + 1) * ai, ap, b, bo + j * bj, bp);
    }
  }
  for (; i < m; i++) for (let j = 0; j < n; j++) c[co + i * n + j] = dotAt(k, a, ao + i * ai, ap, b, bo + j * bj, bp);
}

function dotAt(k: number, a: Float64Array, pa: number, ap: number, b: Float64Array, pb: number, bp: number): number {
  let s = 0;
  for (let p = 0; p < k; p++) s += a[pa + p * ap] * b[pb + p * bp];
  return s;
}

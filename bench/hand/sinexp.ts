/**
 * P5 by hand: y = sin(x) e^x; its dense n × n Jacobian is diagonal, (cos x + sin x) e^x.
 * The Jacobian is allocated per call, as derivd must allocate the one it returns:
 * zero-filling n² doubles is most of the work.
 */
import type { Impl } from './impl.js';

export function sinexp(n: number, format?: 'coo'): Impl {
  if (format === 'coo') return sinexpDiagonal(n);
  return {
    primal: ([x]) => {
      const y = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) y[i] = Math.sin(x[i]) * Math.exp(x[i]);
      return [y];
    },
    derivative: ([x]) => {
      const J = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        const e = Math.exp(x[i]);
        J[i * n + i] = (Math.cos(x[i]) + Math.sin(x[i])) * e;
      }
      return [J];
    },
    // memory-bound: the n² doubles written
    work: { bytes: 8 * n * n },
  };
}

/** The coo form: the n diagonal entries, in (row, column) order, as derivd returns them (allocated per call). */
function sinexpDiagonal(n: number): Impl {
  return {
    primal: ([x]) => {
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) y[i] = Math.sin(x[i]) * Math.exp(x[i]);
      return [y];
    },
    derivative: ([x]) => {
      const d = new Float64Array(n);
      for (let i = 0; i < n; i++) d[i] = (Math.cos(x[i]) + Math.sin(x[i])) * Math.exp(x[i]);
      return [d];
    },
    work: { bytes: 16 * n },
    jv: ([d], [v]) => [Array.from(v, (vi, i) => d[i] * vi)],
  };
}

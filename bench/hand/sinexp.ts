/** P5 by hand: y = sin(x) e^x; its dense n × n Jacobian is diagonal, (cos x + sin x) e^x. */
import type { Impl } from './impl.js';

export const sinexp: Impl = {
  primal: ([x]) => {
    const y = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) y[i] = Math.sin(x[i]) * Math.exp(x[i]);
    return [y];
  },
  derivative: ([x]) => {
    const n = x.length;
    const J = new Float64Array(n * n);
    for (let i = 0; i < n; i++) J[i * n + i] = (Math.cos(x[i]) + Math.sin(x[i])) * Math.exp(x[i]);
    return [J];
  },
};

/**
 * The examples one click away. Each is a whole page state; a test posts each
 * to the service (200, finite numbers) and the browser test loads each.
 */
import type { PlaygroundState } from './state.js';

export interface Example {
  id: string;
  title: string;
  /** One sentence: what to look at. */
  note: string;
  state: PlaygroundState;
}

export const EXAMPLES: readonly Example[] = [
  {
    id: 'seed',
    title: 'Seed: dr/dxs with d constant',
    note: 'One active scalar input, 21 outputs: forward needs 1 direction, reverse 21; d is constant and costs nothing.',
    state: {
      inputs: [
        { name: 'd', shape: [21], values: '[0,0,0,0,0,0,0,0.001,0.02,0.2,0.8,1,0.6,0.1,0.01,0,0,0,0,0,0]', constant: true },
        { name: 'xs', shape: [], values: '0.1', constant: false },
      ],
      formulas: 'x = range(start=-10, stop=11)\nf = exp(-1.5*(x - xs)^2)\nr = d - dot(d, f)/dot(f, f)*f',
      outputs: ['r'],
      operation: 'jacobian',
      mode: 'auto',
      sweep: { input: 'xs', output: 'r', index: 10, from: -2, to: 2, points: 81 },
    },
  },
  {
    id: 'logistic',
    title: 'Logistic-regression gradient',
    note: 'A scalar loss of 3 weights: reverse needs 1 direction; the data X and labels y are constant.',
    state: {
      inputs: [
        { name: 'w', shape: [3], values: '[0.5, -0.25, 0.1]', constant: false },
        { name: 'X', shape: [8, 3], values: 'random(7)', constant: true },
        { name: 'y', shape: [8], values: '[1, 0, 1, 1, 0, 0, 1, 0]', constant: true },
      ],
      formulas: 'p = sigmoid(matmul(X, w))\nloss = -mean(y*log(p) + (1 - y)*log(1 - p))',
      outputs: ['loss'],
      operation: 'gradient',
      mode: 'auto',
    },
  },
  {
    id: 'rosenbrock',
    title: "Rosenbrock's Hessian",
    note: 'The extended Rosenbrock function of 6 variables: a banded Hessian, exact (forward over reverse).',
    state: {
      inputs: [{ name: 'x', shape: [6], values: 'linspace(-1.2, 1)', constant: false }],
      formulas: 'a = slice(x, start=[0], stop=[5])\nb = slice(x, start=[1], stop=[6])\nf = sum(100*(b - a^2)^2 + (1 - a)^2)',
      outputs: ['f'],
      operation: 'hessian',
      mode: 'auto',
    },
  },
  {
    id: 'softmax',
    title: 'Softmax Jacobian',
    note: 'diag(s) − s sᵀ: a dense 5 × 5 Jacobian, symmetric, each row summing to 0.',
    state: {
      inputs: [{ name: 'x', shape: [5], values: '[1, 2, 0.5, -1, 3]', constant: false }],
      formulas: 'e = exp(x - max(x))\ns = e / sum(e)',
      outputs: ['s'],
      operation: 'jacobian',
      mode: 'auto',
    },
  },
  {
    id: 'pendulum',
    title: 'Pendulum RK4 step',
    note: 'One Runge–Kutta step of θ″ = −(g/L) sin θ: the 2 × 2 Jacobian of the step, with h and g/L constant.',
    state: {
      inputs: [
        { name: 's', shape: [2], values: '[1, 0]', constant: false },
        { name: 'h', shape: [], values: '0.1', constant: true },
        { name: 'k', shape: [], values: '9.81', constant: true },
      ],
      formulas: [
        'k1 = concat(slice(s, start=[1], stop=[2]), -k*sin(slice(s, start=[0], stop=[1])))',
        's2 = s + h/2*k1',
        'k2 = concat(slice(s2, start=[1], stop=[2]), -k*sin(slice(s2, start=[0], stop=[1])))',
        's3 = s + h/2*k2',
        'k3 = concat(slice(s3, start=[1], stop=[2]), -k*sin(slice(s3, start=[0], stop=[1])))',
        's4 = s + h*k3',
        'k4 = concat(slice(s4, start=[1], stop=[2]), -k*sin(slice(s4, start=[0], stop=[1])))',
        'next = s + h/6*(k1 + 2*k2 + 2*k3 + k4)',
      ].join('\n'),
      outputs: ['next'],
      operation: 'jacobian',
      mode: 'auto',
    },
  },
];

export const SEED = EXAMPLES[0];

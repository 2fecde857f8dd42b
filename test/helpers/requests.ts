/**
 * Request builders shared by the tests and the pool benchmark (no test-runner imports).
 *   matmulRequest(n)   no body data, n³ flops: sum(fill(n×n, 0.5) · fill(n×n, 2)) = n³
 *   sumSin(n)          gradient of Σ sin(x) over n elements: a body of about 20 n bytes
 *   tanhOfMatmul(A, x) y = tanh(A·x) with A constant: a dense n × n Jacobian of distinct numbers
 */
export const matmulRequest = (n: number) => ({
  graph: {
    inputs: [],
    nodes: [
      { id: 'a', op: 'fill', shape: [n, n], value: 0.5 },
      { id: 'b', op: 'fill', shape: [n, n], value: 2 },
      { id: 'p', op: 'matmul', args: ['a', 'b'] },
      { id: 's', op: 'sum', args: ['p'] },
    ],
    outputs: ['s'],
  },
  args: {},
});

/** Gradient of Σ sin(x) over n elements: a body of about 20 n bytes. */
export function sumSin(n: number) {
  const x = Array.from({ length: n }, (_, i) => Math.sin(i) + 0.5);
  const graph = {
    inputs: [{ name: 'x', shape: [n] }],
    nodes: [
      { id: 's', op: 'sin', args: ['x'] },
      { id: 'y', op: 'sum', args: ['s'] },
    ],
    outputs: ['y'],
  };
  return { graph, args: { x } };
}

/** y = tanh(A·x), A constant: its Jacobian is a dense n × n block of distinct numbers (a large response). */
export function tanhOfMatmul(A: number[][], x: number[]) {
  const n = x.length;
  return {
    graph: {
      inputs: [
        { name: 'A', shape: [n, n] },
        { name: 'x', shape: [n] },
      ],
      nodes: [
        { id: 'Ax', op: 'matmul', args: ['A', 'x'] },
        { id: 'y', op: 'tanh', args: ['Ax'] },
      ],
      outputs: ['y'],
    },
    args: { A, x },
    constant: ['A'],
  };
}

/** y = sin(x)·exp(x) over n elements: a diagonal Jacobian (one colour). */
export const sinExpGraph = (n: number) => ({
  inputs: [{ name: 'x', shape: [n] }],
  nodes: [
    { id: 's', op: 'sin', args: ['x'] },
    { id: 'e', op: 'exp', args: ['x'] },
    { id: 'y', op: 'mul', args: ['s', 'e'] },
  ],
  outputs: ['y'],
});

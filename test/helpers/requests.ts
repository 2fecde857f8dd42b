/**
 * Request builders shared by the tests and the pool benchmark (no test-runner imports).
 *   matmulRequest(n)   no body data, n³ flops: sum(fill(n×n, 0.5) · fill(n×n, 2)) = n³
 *   sumSin(n)          gradient of Σ sin(x) over n elements: a body of about 20 n bytes
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

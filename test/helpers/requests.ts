/**
 * Request builders shared by the tests and the pool benchmark (no test-runner imports).
 *   matmulRequest(n)   no body data, n³ flops: sum(fill(n×n, 0.5) · fill(n×n, 2)) = n³
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

/**
 * derivd-client: a typed graph builder and a typed HTTP client for derivd.
 *
 *   const g = graph();
 *   const x = g.input('x', [3]);
 *   const model = g.output('f', sum(square(x)));
 *   const res = await new Derivd({ url }).gradient({ graph: model, args: { x: [1, 2, 3] } });
 *   res.gradient.x; // [2, 4, 6]
 */
export * from './ops.generated.js';
export {
  apply,
  type Broadcast,
  type Broadcasts,
  type FunctionRef,
  type Operand,
  type Shape,
  type ShapeOf,
  type ShapesDoNotBroadcast,
  Tensor,
  type TensorLiteral,
} from './expr.js';
export { Graph, graph, tensor, type FunctionInputs, type WireFunction, type WireGraph, type WireInput, type WireNode } from './graph.js';
export * from './client.js';
export { DerivdProblem, type ProblemIssue, UNKNOWN_GRAPH } from './problem.js';
export { type Base64Tensor, fromBase64, type Nested, type Packed, batchOf, type TensorValue, toBase64 } from './tensors.js';

/** Errors found while a call runs, turned into the request's own errors. */
import { childPath, DerivdError } from '../graph/errors.js';
import { nodePath } from '../graph/formula.js';
import type { CheckedRequest } from '../graph/request.js';
import { ValueError } from '../ir/interpret.js';

/**
 * A value an op could not take when the call ran (gather's indices) as the request's
 * error: it names the argument when the value is one, else the node's argument.
 */
export function asRequestError(err: unknown, req: CheckedRequest): unknown {
  if (!(err instanceof ValueError)) return err;
  const input = req.graph.inputs.find((i) => i.value === err.value);
  // a node a definition expanded to is reported at the definition
  const defined = err.node >= 0 ? nodePath(err.node, req.graph.sources) : undefined;
  const atNode = err.node >= 0 ? `graph.nodes[${err.node}].args[${err.arg}]` : 'graph';
  const path = input ? childPath('args', input.name) : (defined ?? atNode);
  return new DerivdError('invalid_graph', [{ path, message: err.message }]);
}

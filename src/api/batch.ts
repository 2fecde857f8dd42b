/**
 * A batch of points (the request's `batched`) at the engines' door. A batched plan
 * batches the named inputs and every active one (analysis/plan.ts), so an active
 * input the request shares between points gets a copy per point here, and so does
 * its tangent or vector entry; constant inputs not named stay single and shared.
 */
import type { Plan } from '../analysis/plan.js';
import { repeat } from '../engines/primal.js';
import type { CheckedRequest } from '../graph/request.js';
import type { Tensor } from '../tensor/tensor.js';

/** Arguments, tangents, cotangents or vector, and the points they hold, as the engines take them. */
export interface AtPoints {
  args: readonly Tensor[];
  extra: readonly Tensor[];
  /** B, or 1 for a call at one point. */
  points: number;
}

/** `args` and `extra` (packed, as the request's) made ready for a batched plan. */
export function atPoints(req: CheckedRequest, plan: Plan, args: readonly Tensor[], extra: readonly Tensor[]): AtPoints {
  const batch = req.batch;
  if (!batch || !plan.batched) return { args, extra, points: 1 };
  const named = new Set(batch.inputs);
  const first = batch.inputs[0];
  // From the arguments, not the request: run() may be given other points.
  const points = args[first].shape[0];
  const spread = (t: Tensor, i: number): Tensor => (named.has(i) ? t : { shape: [points, ...t.shape], data: repeat(t.data, points) });
  const active = new Set(req.activeInputs);
  const batchedArgs = args.map((t, i) => (active.has(i) ? spread(t, i) : t));
  // Cotangents belong to outputs, which are always batched; tangents and vector entries to active inputs.
  const batchedExtra = req.operation === 'vjp' ? extra : extra.map((t, k) => spread(t, req.activeInputs[k]));
  return { args: batchedArgs, extra: batchedExtra, points };
}

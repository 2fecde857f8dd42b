/** Contractions of Jacobian blocks, for engines that get a jvp or vjp from a full Jacobian. */
import type { Plan } from '../analysis/plan.js';
import { sizeOf, type Tensor } from '../tensor/tensor.js';
import type { BlockResult } from './sweeps.js';
import type { TensorsResult } from './types.js';

/** (J t)_o = Σ_i J[o][i] · t_i */
export function jacobianTimes(plan: Plan, jac: BlockResult, tangents: readonly Tensor[]): TensorsResult {
  const tensors = plan.outputValues.map((v, o) => {
    const shape = plan.program.values.info(v).shape;
    const m = sizeOf(shape);
    const data = new Float64Array(m);
    tangents.forEach((t, i) => {
      const J = jac.blocks[o][i].data;
      const n = t.data.length;
      for (let p = 0; p < m; p++) {
        let acc = 0;
        for (let q = 0; q < n; q++) if (t.data[q] !== 0) acc += J[p * n + q] * t.data[q];
        data[p] += acc;
      }
    });
    return { shape, data };
  });
  return { tensors, directions: jac.directions };
}

/** (cᵀ J)_i = Σ_o c_oᵀ · J[o][i] */
export function timesJacobian(plan: Plan, jac: BlockResult, cotangents: readonly Tensor[]): TensorsResult {
  const tensors = plan.activeValues.map((v, i) => {
    const shape = plan.program.values.info(v).shape;
    const n = sizeOf(shape);
    const data = new Float64Array(n);
    cotangents.forEach((c, o) => {
      const J = jac.blocks[o][i].data;
      for (let p = 0; p < c.data.length; p++) {
        const cp = c.data[p];
        if (cp === 0) continue;
        for (let q = 0; q < n; q++) data[q] += cp * J[p * n + q];
      }
    });
    return { shape, data };
  });
  return { tensors, directions: jac.directions };
}

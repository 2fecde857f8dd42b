/**
 * A primal and its derivative on the arguments' data (graph input order). `primal`
 * returns the outputs; `derivative` the blocks in derivd's layout (jacobian:
 * [output][active input], each row-major output.shape ++ input.shape; gradient: per active input).
 */
export interface Impl {
  primal(args: Float64Array[]): ArrayLike<number>[];
  derivative(args: Float64Array[]): ArrayLike<number>[];
}

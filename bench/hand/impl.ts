/**
 * A primal and its derivative on the arguments' data (graph input order). `primal`
 * returns the outputs; `derivative` the blocks in derivd's layout (jacobian:
 * [output][active input], each row-major output.shape ++ input.shape; gradient: per active input).
 *
 * These are the speed limits derivd is measured against, so they are the fastest
 * plain JavaScript we can write: fused loops, register-blocked products, and
 * results written into buffers kept between calls (an implementation is made once
 * per problem). A caller that keeps a result past the next call copies it (`kept`).
 */
export interface Impl {
  primal(args: Float64Array[]): ArrayLike<number>[];
  derivative(args: Float64Array[]): ArrayLike<number>[];
  /**
   * The work of one derivative call, for the rate the bench prints beside its time:
   * floating-point operations (compute-bound references) or bytes read and written
   * (memory-bound ones).
   */
  work?: { flops?: number; bytes?: number };
  /**
   * J v from the derivative's result, per output: for references whose result is not
   * dense blocks (a coo Jacobian's entries), so the fd check can use it. Absent: dense.
   */
  jv?(derivative: readonly ArrayLike<number>[], v: readonly Float64Array[]): number[][];
}

/** Copies of results that live in an implementation's reused buffers. */
export const kept = (results: readonly ArrayLike<number>[]): Float64Array[] => results.map((r) => Float64Array.from(r));

/** A buffer of `n` doubles kept between calls, remade only when n changes. */
export function reused(): (n: number) => Float64Array {
  let buf = new Float64Array(0);
  return (n) => {
    if (buf.length !== n) buf = new Float64Array(n);
    return buf;
  };
}

/**
 * Named tolerances for numeric tests, each with the reason for its size, all for
 * expectClose in numeric.ts: |a - b| ≤ tol · max(1, |b|) per element unless a test
 * passes a different scale or floor (and says why); 0 means the same bits.
 */

/**
 * Step for centralDiff along a direction with max-norm ≤ 1, at points of size O(1).
 * The 4-point (Richardson) stencil's truncation error is about h⁴ |f⁽⁵⁾| / 30 ≈ 3e-14 |f⁽⁵⁾|
 * and its rounding error about ε |f| / h ≈ 2e-13 |f|. The step also has to stay well
 * inside each op's safe domain: 2h = 2e-3 against margins of 0.1 or more.
 */
export const FD_STEP = 1e-3;

/**
 * Derivative (exact AD) against finite differences. The difference formula is good
 * to about 1e-12 on the domains the tests use; 1e-6 leaves room for steep functions
 * (pow with small bases, tan, asin near ±0.9) without hiding a wrong rule, which is
 * off by O(1).
 */
export const FD_REL = 1e-6;

/**
 * <J t, c> against <t, Jᵀ c> with both sides computed by AD, relative to the sum of
 * the absolute products on either side. Only rounding separates them: a few ε per
 * chain of ops times the number of terms summed, so about 1e-15 for small tensors.
 */
export const ADJOINT_REL = 1e-12;

/**
 * k directions in one batched run against k separate runs. Ops never see the batch:
 * elementwise kernels get it as one more broadcast axis and every other kernel runs
 * once per direction, so each element goes through exactly the same arithmetic and
 * the results must be the same bits (-0 is not 0; NaN matches NaN). Relax to 1e-15
 * (one rounding) only if a kernel ever legitimately reassociates a batched loop.
 */
export const BATCH_REL = 0;

/**
 * Primal kernels against an independent formula computed in double precision
 * (sigmoid as 1/(1 + e^-x), softplus as ln(1 + e^x), erf by its Taylor series):
 * both sides round a handful of times, and ln(1 + e^x) loses up to ~1e-14 relative
 * for x near -5 where 1 + e^x rounds.
 */
export const FORMULA_REL = 1e-13;

/** erf against correctly rounded (or within 1 ulp, glibc's) references: fdlibm is within 1 ulp. */
export const ERF_ULPS = 2;

/**
 * A unary op's derivative (its JVP at tangent 1) against the textbook formula written
 * out independently (1/cos² for tan, 2/√π e^-x² for erf, ...), on the op's safe
 * domain. Both sides are a few correctly rounded operations apart, except where
 * one form cancels (1 - tanh² x near |x| = 3 loses about 2 digits), so 1e-13. This
 * catches a wrong constant that FD_REL cannot see.
 */
export const ANALYTIC_REL = 1e-13;

/**
 * Forward against reverse mode (Jacobians, gradients), both exact: only rounding
 * separates them, the same partials summed in a different order, so a few ε per
 * term relative to max(1, max|J|). test/property/random-graphs.test.ts uses this
 * bound too; the reliability fuzzer holds every well-conditioned case to it.
 */
export const AD_REL = 1e-12;

/**
 * Hessians by forward-over-reverse against forward-over-forward: two derivative
 * programs deep, more terms summed in more orders, relative to max(1, max|H|).
 */
export const HESSIAN_REL = 1e-10;

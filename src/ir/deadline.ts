/**
 * Cooperative compute budgets. A computation is synchronous, so one deadline per
 * thread is enough: withDeadline sets it for the duration of a call, and the
 * evaluators call checkDeadline between equations, fused loops and direction
 * chunks. A budget cut this way leaves the thread healthy: a worker that runs
 * out of budget can take its next task at once instead of being replaced.
 *
 * Without a deadline (Infinity) a check is one comparison.
 */

/** A computation ran past its `budgetMs` and was stopped between two steps. */
export class ComputeDeadlineExceeded extends Error {
  constructor(readonly budgetMs: number) {
    super(`the computation ran longer than its budget (${budgetMs} ms) and was stopped`);
    this.name = 'ComputeDeadlineExceeded';
  }
}

let deadline = Infinity;
let budget = 0;

/** Runs `fn` with a deadline `budgetMs` from now (none when undefined); nested calls keep the earlier deadline. */
export function withDeadline<T>(budgetMs: number | undefined, fn: () => T): T {
  if (budgetMs === undefined) return fn();
  const at = performance.now() + budgetMs;
  if (at >= deadline) return fn();
  const saved = deadline;
  const savedBudget = budget;
  deadline = at;
  budget = budgetMs;
  try {
    return fn();
  } finally {
    deadline = saved;
    budget = savedBudget;
  }
}

/** Throws ComputeDeadlineExceeded once the current deadline has passed. */
export function checkDeadline(): void {
  if (deadline !== Infinity && performance.now() > deadline) throw new ComputeDeadlineExceeded(budget);
}

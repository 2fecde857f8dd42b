/** What bench/tfjs.ts exports, for run.ts, which loads it without the root typecheck following the import. */
import type { Impl } from './hand/index.js';
import type { Problem } from './problems.js';

export interface TfjsBench {
  /** Sets up the CPU backend; returns the version and backend, for the report. */
  initTfjs(): Promise<string>;
  /** The TensorFlow.js version of problem `p`. */
  tfjs(p: Problem): Impl;
}

/**
 * Assertions on DerivdError:
 *   caught(fn)                      the DerivdError fn throws (fails if it throws nothing or something else)
 *   expectIssues(fn, kind, [[path, ...words]])
 *                                   the error has this kind and exactly these issue paths, and each
 *                                   path has a message containing all its words
 */
import { expect } from 'vitest';
import { DerivdError, type ErrorKind } from '../../src/graph/errors.js';

export function caught(fn: () => unknown): DerivdError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DerivdError);
    return err as DerivdError;
  }
  throw new Error('expected a DerivdError, but the call succeeded');
}

/** Each expected issue: [path, ...words its message must contain]. */
export type Expected = [path: string, ...words: string[]];

export function expectIssues(fn: () => unknown, kind: ErrorKind, expected: Expected[]): DerivdError {
  const err = caught(fn);
  expect({ kind: err.kind, paths: err.issues.map((i) => i.path).sort() }).toEqual({ kind, paths: expected.map((e) => e[0]).sort() });
  for (const [path, ...words] of expected) {
    const messages = err.issues.filter((i) => i.path === path).map((i) => i.message);
    expect(
      messages.some((m) => words.every((w) => m.includes(w))),
      `${path}: ${JSON.stringify(messages)} should contain ${JSON.stringify(words)}`,
    ).toBe(true);
  }
  return err;
}

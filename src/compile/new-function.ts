/**
 * The one place derivd turns generated source into a function. The source comes
 * only from src/compile/codegen.ts, which writes fixed template text, identifiers
 * it mints from integers, and safe integers: nothing from a request. Runtime
 * values (scalar functions, buffers, kernel steps) come in as parameters.
 */
export type Generated<R> = (...params: unknown[]) => R;

export function instantiate<R>(paramNames: readonly string[], body: string, params: readonly unknown[]): R {
  // biome-ignore lint/style/noRestrictedGlobals: the single, audited code-generation site (see above)
  const factory = new Function(...paramNames, `'use strict';\n${body}`) as Generated<R>;
  return factory(...params);
}

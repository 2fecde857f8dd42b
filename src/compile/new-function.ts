/**
 * The one place derivd turns generated source into a function. Source is `Code`
 * (code.ts): fixed template text, identifiers minted from integers, safe
 * integers and sanitised comments, never a plain string, so nothing from a request
 * can reach it. Runtime values (scalar functions, buffers, kernel steps, tables)
 * come in as parameters.
 */
import { type Code, isCode } from './code.js';

export type Generated<R> = (...params: unknown[]) => R;

export function instantiate<R>(paramNames: readonly Code[], body: Code, params: readonly unknown[]): R {
  if (!isCode(body) || !paramNames.every(isCode)) throw new Error('instantiate: source must be Code');
  // biome-ignore lint/style/noRestrictedGlobals: the single, audited code-generation site (see above)
  const factory = new Function(...paramNames.map((p) => p.text), `'use strict';\n${body.text}`) as Generated<R>;
  return factory(...params);
}

/**
 * Engines by name. The set is open: registerEngine adds one, and `mode` accepts
 * its name from then on (in the service, ENGINE_MODULES names modules whose
 * default export is registered in every thread). `auto` is not an engine but a
 * choice among candidates (engines/auto.ts).
 */
import { fdEngine } from './fd.js';
import { forwardEngine } from './forward.js';
import { reverseEngine } from './reverse.js';
import type { Engine } from './types.js';

const engines = new Map<string, Engine>();

/** A mode name: what fits in a URL, a metric label and a log line unquoted. */
const ENGINE_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

export function registerEngine(engine: Engine): void {
  const e = engine as Partial<Engine> | null;
  if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || !ENGINE_NAME.test(e.name)) {
    throw new TypeError(
      `an engine needs a name of lower-case letters, digits, - and _ (at most 64, starting with a letter), found ${JSON.stringify(e?.name)}`,
    );
  }
  for (const required of ['jacobian', 'hessian'] as const) {
    if (typeof e[required] !== 'function') throw new TypeError(`engine ${e.name} has no ${required}() function`);
  }
  for (const optional of ['jvp', 'vjp', 'hvp', 'estimate', 'method'] as const) {
    if (e[optional] !== undefined && typeof e[optional] !== 'function')
      throw new TypeError(`engine ${e.name}: ${optional} must be a function when given`);
  }
  if (engine.name === 'auto' || engines.has(engine.name)) throw new Error(`engine name ${engine.name} is taken`);
  engines.set(engine.name, engine);
  modes = Object.freeze(['auto', ...engines.keys()]);
}

/** 'auto' and every engine's name: what `mode` may be. Made once per registration, not per call. */
let modes: readonly string[] = ['auto'];
export const modeNames = (): readonly string[] => modes;

export function findEngine(name: string): Engine | undefined {
  return engines.get(name);
}

export function engineNames(): string[] {
  return [...engines.keys()];
}

registerEngine(forwardEngine);
registerEngine(reverseEngine);
registerEngine(fdEngine);

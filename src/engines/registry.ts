/**
 * Engines by name. The set is open: registerEngine adds one, and `mode` accepts
 * its name from then on. `auto` is not an engine but a choice among forward and
 * reverse (engines/auto.ts).
 */
import { fdEngine } from './fd.js';
import { forwardEngine } from './forward.js';
import { reverseEngine } from './reverse.js';
import type { Engine } from './types.js';

const engines = new Map<string, Engine>();

export function registerEngine(engine: Engine): void {
  if (engine.name === 'auto' || engines.has(engine.name)) throw new Error(`engine name ${engine.name} is taken`);
  engines.set(engine.name, engine);
}

export function findEngine(name: string): Engine | undefined {
  return engines.get(name);
}

export function engineNames(): string[] {
  return [...engines.keys()];
}

registerEngine(forwardEngine);
registerEngine(reverseEngine);
registerEngine(fdEngine);

/**
 * ENGINE_MODULES: modules whose default export is an engine (or a list of them),
 * registered in the main thread and in every worker, so `mode` accepts their names
 * whichever thread computes. An engine module need not import derivd: what it
 * needs comes in its arguments (see test/fixtures/richardson-engine.mjs).
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findEngine, registerEngine, type Engine } from '../api/index.js';

/** A path (absolute, or relative to the working directory) becomes a file URL; anything else is a package name. */
function specifierOf(entry: string): string {
  return entry.startsWith('.') || isAbsolute(entry) ? pathToFileURL(resolve(entry)).href : entry;
}

/** Imports each module and registers its engines; an engine already registered (the same object) is left as it is. */
export async function loadEngineModules(entries: readonly string[]): Promise<string[]> {
  const names: string[] = [];
  for (const entry of entries) {
    const mod = (await import(specifierOf(entry))) as { default?: Engine | Engine[] };
    const list = Array.isArray(mod.default) ? mod.default : [mod.default];
    for (const engine of list) {
      if (engine === undefined) throw new Error(`ENGINE_MODULES: ${entry} has no default export (an engine or a list of engines)`);
      if (findEngine(engine.name) !== engine) registerEngine(engine);
      names.push(engine.name);
    }
  }
  return names;
}

/**
 * The layer check: src/README.md's table says which folders each folder may
 * import; this reads the table and every import of src/ (type-only and dynamic
 * ones too) and lists what breaks it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Layer name -> the layers it may import (itself always allowed). */
export type LayerTable = Map<string, Set<string>>;

/** Reads the `| folder | job | may import |` table: `tensor/` is layer "tensor", `index.ts` layer "index.ts". */
export function parseLayerTable(markdown: string): LayerTable {
  const table: LayerTable = new Map();
  for (const line of markdown.split('\n')) {
    const m = /^\| `([^`]+)` \|[^|]*\| ([^|]+) \|$/.exec(line.trim());
    if (!m) continue;
    const name = m[1].replace(/\/$/, '');
    const allowed = m[2].trim() === 'nothing' ? [] : m[2].split(',').map((s) => s.trim());
    table.set(name, new Set(allowed));
  }
  return table;
}

export interface Import {
  /** Both relative to the repository root, e.g. src/ops/unary.ts. */
  from: string;
  to: string;
}

/** Relative specifiers of every import, export-from, side-effect and dynamic import in a source text. */
export function specifiers(text: string): string[] {
  const out: string[] = [];
  const quoted = `(['"])(\\.[^'"]*)\\1`;
  for (const re of [`\\bfrom\\s*${quoted}`, `\\bimport\\s*\\(\\s*${quoted}\\s*\\)`, `^\\s*import\\s*${quoted}`]) {
    for (const m of text.matchAll(new RegExp(re, 'gm'))) out.push(m[2]);
  }
  return out;
}

/** Every import between files of `srcDir` (tests excluded), as repository-relative paths. */
export function importsOf(root: string, srcDir = 'src'): Import[] {
  const out: Import[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        for (const spec of specifiers(readFileSync(join(root, path), 'utf8'))) {
          const target = relative(root, resolve(root, dirname(path), spec)).replace(/\.js$/, '.ts');
          out.push({ from: path, to: target });
        }
      }
    }
  };
  walk(srcDir);
  return out;
}

/** The layer of a file under src/: its folder, or its own name at the top. */
export function layerOf(file: string, srcDir = 'src'): string {
  return relative(srcDir, file).split(/[\\/]/)[0];
}

/** Each import the table does not allow, as a sentence. */
export function violations(imports: readonly Import[], table: LayerTable, srcDir = 'src'): string[] {
  const out: string[] = [];
  for (const { from, to } of imports) {
    const a = layerOf(from, srcDir);
    if (!table.has(a)) {
      out.push(`${from}: its layer ${a} is not in the table`);
      continue;
    }
    if (to.startsWith('..') || !to.startsWith(`${srcDir}/`)) continue; // outside src (package.json, ...): not a layer
    const b = layerOf(to, srcDir);
    if (a === b) continue;
    if (!table.get(a)?.has(b)) out.push(`${from} imports ${to}: ${a} may not import ${b}`);
  }
  return out;
}

/** Cycles in the table itself (a folder that may import, through others, a folder that may import it). */
export function tableCycles(table: LayerTable): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (n: string, path: string[]): void => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'open') {
      cycles.push([...path.slice(path.indexOf(n)), n].join(' -> '));
      return;
    }
    state.set(n, 'open');
    for (const m of table.get(n) ?? []) visit(m, [...path, n]);
    state.set(n, 'done');
  };
  for (const n of table.keys()) visit(n, []);
  return cycles;
}

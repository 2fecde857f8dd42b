/**
 * The house rules of src/: imports point down the layers of src/README.md's table,
 * and the table has no cycle. The synthetic cases show the check catches what it
 * is for.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { importsOf, parseLayerTable, specifiers, tableCycles, violations } from './helpers/layers.js';

const root = new URL('..', import.meta.url).pathname;
const table = parseLayerTable(readFileSync(new URL('../src/README.md', import.meta.url), 'utf8'));

describe('layers', () => {
  test('the table in src/README.md names every layer, lowest first, without a cycle', () => {
    expect([...table.keys()]).toEqual([
      'tensor',
      'ops',
      'ir',
      'graph',
      'analysis',
      'compile',
      'engines',
      'api',
      'server',
      'cli',
      'index.ts',
    ]);
    expect(tableCycles(table)).toEqual([]);
  });

  test('every import in src/ points down the table (type-only and dynamic imports included)', () => {
    const imports = importsOf(root);
    expect(imports.length).toBeGreaterThan(200); // the walk found the sources
    expect(violations(imports, table)).toEqual([]);
  });

  test('an upward import is caught, and so is one from a folder the table does not name', () => {
    const found = violations(
      [
        { from: 'src/ops/unary.ts', to: 'src/ir/builder.ts' },
        { from: 'src/tensor/tensor.ts', to: 'src/tensor/broadcast.ts' },
        { from: 'src/server/app.ts', to: 'src/engines/registry.ts' },
        { from: 'src/extra/x.ts', to: 'src/tensor/tensor.ts' },
      ],
      table,
    );
    expect(found).toEqual([
      'src/ops/unary.ts imports src/ir/builder.ts: ops may not import ir',
      'src/server/app.ts imports src/engines/registry.ts: server may not import engines',
      'src/extra/x.ts: its layer extra is not in the table',
    ]);
  });

  test('a cycle between folders in the table is caught', () => {
    const cyclic = parseLayerTable('| `a/` | x | b |\n| `b/` | y | c |\n| `c/` | z | a |\n');
    expect(tableCycles(cyclic)).toEqual(['a -> b -> c -> a']);
  });

  test('type-only, multi-line, re-export, side-effect and dynamic imports are all read', () => {
    const text = [
      "import type { A } from '../ir/program.js';",
      'import {\n  b,\n  c,\n} from "../x.js";',
      "import {\n  d,\n} from '../graph/check.js';",
      "export { e } from './e.js';",
      "import './side.js';",
      "const m = await import('../engines/registry.js');",
      "import { z } from 'zod';",
    ].join('\n');
    expect(specifiers(text).sort()).toEqual([
      '../engines/registry.js',
      '../graph/check.js',
      '../ir/program.js',
      '../x.js',
      './e.js',
      './side.js',
    ]);
  });
});

/**
 * The Python client's op list (clients/python/derivd/_ops.py) is generated from the op
 * registry: regenerated here, it must equal the committed file, so an op or attribute
 * added to the service cannot be missing from the client's checks.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { PYTHON_OPS_PATH, pythonOpsSource } from '../../scripts/generate-python-ops.js';
import { WIRE_OPS } from '../../src/ops/registry.js';

test('clients/python/derivd/_ops.py is current (npx tsx scripts/generate-python-ops.ts)', () => {
  expect(readFileSync(PYTHON_OPS_PATH, 'utf8')).toBe(pythonOpsSource());
});

test('it lists every wire op once, with each attribute the schema accepts', () => {
  const source = pythonOpsSource();
  for (const op of WIRE_OPS) {
    const line = source.split('\n').find((l) => l.startsWith(`    ${JSON.stringify(op.name)}: `));
    expect(line, op.name).toBeDefined();
    for (const attr of Object.keys(op.attrs)) expect(line, `${op.name}.${attr}`).toContain(`${JSON.stringify(attr)}: {"type": `);
  }
  expect(source.match(/^ {4}"/gm)).toHaveLength(WIRE_OPS.length);
});

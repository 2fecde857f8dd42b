/**
 * Warm replacement workers (issue 8, item 10): a worker thread warms itself up
 * before piscina hands it a task, so a worker started to replace a terminated one
 * is not slow on its first requests.
 */
import { expect, test } from 'vitest';
import { SHARED_CACHE } from '../../src/api/index.js';
import { OPERATIONS } from '../../src/graph/schema.js';
import { warmUp } from '../../src/server/warmup.js';

test('the warm-up runs every operation in both engines without a failure, and leaves the plan cache alone', async () => {
  const before = { size: SHARED_CACHE.size, bytes: SHARED_CACHE.bytes };
  const w = await warmUp();
  // evaluate once per run; the others in forward and reverse mode, three runs each (the sweeps compile on a later run)
  expect(w).toMatchObject({ runs: 3 + (OPERATIONS.length - 1) * 2 * 3, failed: 0 });
  expect({ size: SHARED_CACHE.size, bytes: SHARED_CACHE.bytes }).toEqual(before);
});

test('the worker module exports its task only once warmed up: piscina awaits that before giving it work', async () => {
  const worker = await import('../../src/server/worker.js');
  expect(worker.default).toBeInstanceOf(Promise);
  expect(await worker.default).toBe(worker.compute);
});

/**
 * Code generation that cannot overflow: a valid 10,000-node Hessian (whose fused
 * groups once went into push(...) as spread arguments and overflowed the stack)
 * is answered, fused loops hold at most MAX_GROUP_EQNS equations, and a list
 * whose compilation throws runs interpreted, with the same numbers, reported once.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { hessian, jacobian } from '../src/index.js';
import { compiledSource, setCompileErrorHandler } from '../src/compile/execute.js';
import { MAX_GROUP_EQNS, MAX_PART_EQNS } from '../src/compile/codegen.js';
import * as newFunction from '../src/compile/new-function.js';
import { prepare } from '../src/api/index.js';
import { expectClose } from './helpers/numeric.js';

/** y = sum(f_{n-1}(… f_0(x))) with f cycling through sin, cos, tanh. */
function chain(n: number, shape: number[] = [3]) {
  const nodes: { id: string; op: string; args: string[] }[] = Array.from({ length: n - 1 }, (_, i) => ({
    id: `n${i}`,
    op: ['sin', 'cos', 'tanh'][i % 3],
    args: [i === 0 ? 'x' : `n${i - 1}`],
  }));
  nodes.push({ id: 'y', op: 'sum', args: [`n${n - 2}`] });
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    graph: { inputs: [{ name: 'x', shape }], nodes, outputs: ['y'] },
    args: { x: shape.length ? Array.from({ length: size }, (_, i) => 0.1 + i / size) : 0.1 },
  };
}

afterEach(() => {
  vi.restoreAllMocks();
  setCompileErrorHandler((err) => process.emitWarning(String(err)));
});

describe('code generation at scale', () => {
  test('a 10,000-node Hessian is computed (forward-over-reverse, compiled at once: its lists are long) and right', async () => {
    // u_i = sin(u_{i-1}) + x, u_0 = x: its second derivative by a hand-written second-order recurrence
    const n = 10_000;
    const nodes: { id: string; op: string; args: string[] }[] = [];
    let prev = 'x';
    for (let i = 0; i < n / 2; i++) {
      nodes.push({ id: `s${i}`, op: 'sin', args: [prev] }, { id: `u${i}`, op: 'add', args: [`s${i}`, 'x'] });
      prev = `u${i}`;
    }
    const x = 0.3;
    let [u, d1, d2] = [x, 1, 0];
    for (let i = 0; i < n / 2; i++) [u, d1, d2] = [Math.sin(u) + x, Math.cos(u) * d1 + 1, Math.cos(u) * d2 - Math.sin(u) * d1 * d1];
    const failures: unknown[] = [];
    setCompileErrorHandler((err) => failures.push(err));
    const res = await hessian(
      { graph: { inputs: [{ name: 'x', shape: [] }], nodes, outputs: [prev] }, args: { x }, mode: 'reverse' },
      { cache: false },
    );
    expectClose(res.hessian?.x.x as number, d2, 1e-9);
    expect(failures).toEqual([]); // compiled, not rescued by the interpreter
  });

  test(`generated functions hold at most ${MAX_PART_EQNS} equations each`, () => {
    const call = prepare('evaluate', chain(3000, [2]), { cache: false });
    const source = compiledSource(call.plan.schedule, call.plan.program.values, 1);
    expect((source.match(/parts\.push\(function/g) ?? []).length).toBe(Math.ceil(3000 / MAX_PART_EQNS));
  });

  test(`fused loops hold at most ${MAX_GROUP_EQNS} equations`, () => {
    const call = prepare('evaluate', chain(1000, [64]), { cache: false });
    const source = compiledSource(call.plan.schedule, call.plan.program.values, 1);
    const loops = source.match(/for \(let i = 0;/g) ?? [];
    expect(loops.length).toBe(Math.ceil(999 / MAX_GROUP_EQNS));
  });

  test('a list whose compilation throws runs interpreted, with the same numbers, reported once', async () => {
    const req = chain(30, [5000]);
    const ref = await jacobian(req, { cache: false, output: 'packed' }); // compiled at once (large), the reference
    const seen: unknown[] = [];
    const listings: string[] = [];
    setCompileErrorHandler((err, listing) => {
      seen.push(err);
      listings.push(listing);
    });
    const spy = vi.spyOn(newFunction, 'instantiate').mockImplementation(() => {
      throw new RangeError('Maximum call stack size exceeded');
    });
    const got = await jacobian(req, { cache: false, output: 'packed' });
    await jacobian(req, { cache: false, output: 'packed' });
    expect(spy.mock.calls.length).toBeGreaterThan(1); // compiling was tried, and failed, on both calls
    expect(got.jacobian).toEqual(ref.jacobian);
    expect(got.values).toEqual(ref.values);
    // once: not zero times (the failure path ran), not once per failure
    expect(seen).toHaveLength(1);
    expect(String(seen[0])).toMatch(/Maximum call stack size exceeded/);
    // with the list's first equations, printed one per line, and how many there were
    expect(listings[0].split('\n').slice(0, 2)).toEqual([
      expect.stringMatching(/^v\d+ = sin v0 +\[5000\]$/),
      expect.stringMatching(/^v\d+ = cos v\d+ +\[5000\]$/),
    ]);
    expect(listings[0]).toMatch(/\n… \(\d+ equations in all\)$/);
  });
});

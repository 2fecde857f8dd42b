/**
 * `derivd eval` and `derivd explain`: built on graph formulas (`define`) and the
 * library's `explain` (POST /v1/explain with --url). Derivatives are checked
 * against analytic ones:
 * d/dx sin(x)·exp(x) = (cos x + sin x) eˣ, d²/dx² = 2 cos(x) eˣ, d(x·y)/dx = y.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { useListening } from './helpers/server.js';
import { cli, readmeCommands, words } from './helpers/cli.js';
import { expectClose } from './helpers/numeric.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = join(root, 'test/fixtures/sin-exp.request.json');

const dy = (x: number): number => (Math.cos(x) + Math.sin(x)) * Math.exp(x);
const d2y = (x: number): number => 2 * Math.cos(x) * Math.exp(x);
/** Rounding of the library's result against the formula: a few ulps per op. */
const ANALYTIC_REL = 1e-14;

/** s = w · Σ sin(x)·exp(x) as a formula, w constant. */
const sumOfY = JSON.stringify({
  graph: {
    inputs: [
      { name: 'x', shape: [3] },
      { name: 'w', shape: [] },
    ],
    define: { s: 'sum(sin(x)*exp(x))*w' },
    outputs: ['s'],
  },
  args: { x: [0.1, 0.5, 1], w: 2 },
  constant: ['w'],
});

const json = async (argv: string[], stdin = '') => {
  const r = await cli([...argv, '--json'], stdin);
  expect(r.code, `${argv.join(' ')}: ${r.err}`).toBe(0);
  return JSON.parse(r.out);
};

describe('derivd eval', () => {
  test('--wrt x: the value and df/dx of sin(x)*exp(x), as a table and as JSON', async () => {
    const r = await cli(['eval', 'sin(x)*exp(x)', '--at', 'x=0.5', '--wrt', 'x', '--precision', '12']);
    expect(r.code, r.err).toBe(0);
    const value = Number(/^ {2}f = (\S+)$/m.exec(r.out)?.[1]);
    const slope = Number(/^ {2}df\/dx = (\S+)$/m.exec(r.out)?.[1]);
    expectClose([value, slope], [Math.sin(0.5) * Math.exp(0.5), dy(0.5)], 1e-11);
    const env = await json(['eval', 'sin(x)*exp(x)', '--at', 'x=0.5', '--wrt', 'x']);
    expectClose([env.jacobian.f.x], [dy(0.5)], ANALYTIC_REL);
  });

  test('no --wrt evaluates; a vector --at, the others constant; --op picks the operation', async () => {
    const plain = await json(['eval', 'sin(x)*exp(x)', '--at', 'x=0.5']);
    expect(Object.keys(plain)).toEqual(['values', 'stats', 'timings']);
    const v = await json(['eval', 'x*y', '--at', 'x=1,2,3', '--at', 'y=2', '--wrt', 'x']);
    expect(v.values.f).toEqual([2, 4, 6]);
    expect(Object.keys(v.jacobian.f)).toEqual(['x']); // y is constant
    expect(v.jacobian.f.x).toEqual([
      [2, 0, 0],
      [0, 2, 0],
      [0, 0, 2],
    ]);
    const h = await json(['eval', 'sin(x)*exp(x)', '--at', 'x=0.3', '--op', 'hessian']);
    expectClose([h.hessian.x.x], [d2y(0.3)], 1e-13);
    const g = await json(['eval', 'sin(x)*exp(x)', '--at', 'x=0.3', '--wrt', 'x', '--op', 'gradient']);
    expectClose([g.gradient.x], [dy(0.3)], ANALYTIC_REL);
    const t = await json(['eval', 'sin(x)*exp(x)', '--at', 'x=0.3', '--op', 'jvp', '--vector', 'x=2']);
    expectClose([t.jvp.f], [2 * dy(0.3)], ANALYTIC_REL);
    const m = await json(['eval', 'x*x', '--at', 'x=[[1,2],[3,4]]', '--wrt', 'x', '--op', 'vjp', '--vector', 'f=[[1,0],[0,1]]']);
    expect(m.vjp.x).toEqual([
      [2, 0],
      [0, 8],
    ]);
  });

  test('a bad formula or a bad flag exits 2 and says where', async () => {
    const bad = await cli(['eval', 'sin(', '--at', 'x=1']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(
      /^derivd: The (request does not match the schema \(400\)|graph or the call is not valid \(422\))\n {2}graph\.define\.f/,
    );
    const wrt = await cli(['eval', 'x', '--at', 'x=1', '--wrt', 'z']);
    expect([wrt.code, wrt.err.split('\n')[0]]).toEqual([2, 'derivd: --wrt: z is not an input (give it a value with --at z=...)']);
    const noVector = await cli(['eval', 'x', '--at', 'x=1', '--op', 'hvp']);
    expect([noVector.code, noVector.err.split('\n')[0]]).toEqual([2, 'derivd: hvp needs --vector NAME=VALUE for each active input']);
    const value = await cli(['eval', 'x', '--at', 'x=1,,2']);
    expect([value.code, value.err.split('\n')[0]]).toEqual([2, 'derivd: --at x: expected a number or comma-separated numbers, found ""']);
  });
});

describe('derivd explain', () => {
  const service = useListening();

  test('the plan of a call: every node with its shape and whether it is active', async () => {
    const e = await json(['explain', FIXTURE, '--op', 'jacobian']);
    expect(e.operation).toBe('jacobian');
    expect(e.inputs).toEqual([{ name: 'x', shape: [3], active: true }]);
    expect(e.nodes.map((n: { id: string; active: boolean }) => [n.id, n.active])).toEqual([
      ['s', true],
      ['e', true],
      ['y', true],
    ]);
    expect(e.outputs).toEqual([{ name: 'y', shape: [3] }]);
    const constant = await json(['explain', FIXTURE, '--constant', 'x']);
    expect(constant.inputs[0].active).toBe(false);
    const table = await cli(['explain', FIXTURE, '--op', 'jacobian']);
    expect(table.code).toBe(0);
    const lines = table.out.split('\n');
    expect(lines[0]).toBe('operation: jacobian');
    expect(lines[1]).toMatch(new RegExp(`^mode: ${e.mode}, ${e.directions} direction`));
    expect(lines).toContain('inputs');
    expect(table.out).toMatch(/\n {2}s +sin +x +\[3\] +yes/);
    expect(table.out).toMatch(/\n {2}y +mul +s e +\[3\] +yes/);
  });

  test('--url asks POST /v1/explain and gets the same plan', async () => {
    const local = await json(['explain', '-', '--op', 'hessian', '--constant', '', '--mode', 'reverse'], sumOfY);
    const remote = await json(['explain', '-', '--op', 'hessian', '--constant', '', '--mode', 'reverse', '--url', service.url()], sumOfY);
    expect(local.operation).toBe('hessian');
    expect(local.mode).toBe('reverse');
    expect(remote).toEqual(local);
    const bad = await cli(['explain', '-', '--url', service.url()], '{"graph": {}}');
    expect(bad.code).toBe(2);
  });

  test('eval --url sends the formula to the service', async () => {
    const env = await json(['eval', 'sin(x)*exp(x)', '--at', 'x=0.25', '--wrt', 'x', '--url', service.url()]);
    expectClose([env.jacobian.f.x], [dy(0.25)], ANALYTIC_REL);
    const bad = await cli(['eval', 'sin(x', '--at', 'x=1', '--url', service.url()]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/\n {2}graph\.define\.f: /);
  });

  test("the README's eval and explain commands run", async () => {
    const commands = readmeCommands("derivd eval '");
    expect(commands.length).toBe(3);
    for (const line of commands) {
      const r = await cli(words(line).argv.slice(1));
      expect(r.code, `${line}\n${r.err}`).toBe(0);
    }
    const first = await cli(words(commands[0]).argv.slice(1));
    expect(first.out).toContain(`  df/dx = ${Number(dy(0.5).toPrecision(6))}\n`);
  });
});

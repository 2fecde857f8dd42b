import { describe, expect, test } from 'vitest';
import { SEED } from './examples.js';
import { parseDefinitions, placeIssue, type StateError, sweepRequest, toRequest } from './state.js';

describe('page state', () => {
  test('name = formula lines become define, remembering each line', () => {
    const defs = parseDefinitions('# comment\nf = exp(x)\n\n  g=f*2  ');
    expect(defs).toEqual({ define: { f: 'exp(x)', g: 'f*2' }, lineOf: { f: 1, g: 3 } });
  });

  test('a line that is no definition, or a name defined twice, is an error on its line', () => {
    const at = (text: string): unknown => {
      try {
        parseDefinitions(text);
      } catch (e) {
        return [(e as StateError).where, (e as Error).message];
      }
    };
    expect(at('f = x\nexp(x)')).toEqual([{ line: 1 }, 'expected "name = formula"']);
    expect(at('f = x\nf = y')).toEqual([{ line: 1 }, '"f" is defined twice']);
  });

  test('the seed state is the seed request', () => {
    expect(toRequest(SEED.state)).toEqual({
      graph: {
        inputs: [
          { name: 'd', shape: [21] },
          { name: 'xs', shape: [] },
        ],
        define: { x: 'range(start=-10, stop=11)', f: 'exp(-1.5*(x - xs)^2)', r: 'd - dot(d, f)/dot(f, f)*f' },
        outputs: ['r'],
      },
      args: { d: [0, 0, 0, 0, 0, 0, 0, 0.001, 0.02, 0.2, 0.8, 1, 0.6, 0.1, 0.01, 0, 0, 0, 0, 0, 0], xs: 0.1 },
      constant: ['d'],
    });
    expect(toRequest({ ...SEED.state, mode: 'reverse' }).mode).toBe('reverse');
  });

  test('a bad argument is an error on its input', () => {
    const state = { ...SEED.state, inputs: [SEED.state.inputs[0], { ...SEED.state.inputs[1], values: '[1, 2]' }] };
    expect(() => toRequest(state)).toThrow(expect.objectContaining({ where: { input: 'xs' } }));
  });

  test("a problem's issue paths find their line or input", () => {
    const defs = parseDefinitions(SEED.state.formulas);
    expect(placeIssue('graph.define.f', SEED.state, defs)).toEqual({ line: 1 });
    expect(placeIssue('args.xs', SEED.state, defs)).toEqual({ input: 'xs' });
    expect(placeIssue('graph.inputs[0].shape', SEED.state, defs)).toEqual({ input: 'd' });
    expect(placeIssue('mode', SEED.state, defs)).toEqual({});
  });

  test('the sweep batches the swept input and holds every other one constant', () => {
    const req = sweepRequest(SEED.state, SEED.state.sweep!, [0, 1]);
    expect(req.args.xs).toEqual([0, 1]);
    expect(req.batched).toEqual(['xs']);
    expect(req.constant).toEqual(['d']);
    expect(req.graph.outputs).toEqual(['r']);
  });
});

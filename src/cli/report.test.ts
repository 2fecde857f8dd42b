import { describe, expect, test } from 'vitest';
import { explanationText, MAX_BLOCKS, MAX_NODES_SHOWN, resultText } from './report.js';

const timings = { validateMs: 0.5, planMs: 0.25, evaluateMs: 0.125, differentiateMs: 1, totalMs: 1.875 };

describe('resultText', () => {
  test('values, a Jacobian grid as dy/dx blocks, then mode, reason and timings', () => {
    const text = resultText(
      {
        values: { y: [1, 2], s: 3 },
        jacobian: {
          y: {
            a: [
              [1, 0],
              [0, 'NaN'],
            ],
            b: [0.5, 0.25],
          },
          s: { a: [1, 1], b: 0 },
        },
        mode: 'forward',
        reason: 'asked',
        stats: { directions: 3, activeNodes: 2, inactiveNodes: 0 },
        timings,
      },
      6,
    );
    expect(text).toBe(
      [
        'values',
        '  y [2]',
        '    1  2',
        '  s = 3',
        'jacobian (d output / d input; shape output ++ input)',
        '  dy/da [2,2]',
        '    [0]  1    0',
        '    [1]  0  NaN',
        '  dy/db [2]',
        '    0.5  0.25',
        '  ds/da [2]',
        '    1  1',
        '  ds/db = 0',
        'mode: forward, 3 directions (asked)',
        'time: 1.875 ms (validate 0.5, plan 0.25, evaluate 0.125, differentiate 1)',
        '',
      ].join('\n'),
    );
  });

  test('gradient and hessian are of the one output; the check is shown; evaluate has no mode line', () => {
    const text = resultText(
      {
        values: { f: 2 },
        hessian: { x: { x: 4, z: -1 } },
        mode: 'reverse',
        reason: 'r',
        stats: { directions: 1 },
        timings: { ...timings, checkMs: 2 },
        check: { maxAbsError: 1e-9, maxRelError: 'NaN' },
      },
      6,
    );
    expect(text).toContain('hessian (shape input ++ input)\n  d2f/dx dx = 4\n  d2f/dx dz = -1\n');
    expect(text).toContain('mode: reverse, 1 direction (r)\ncheck: max abs error 1e-9, max rel error NaN (against fd)\n');
    expect(text).toContain('differentiate 1, check 2)');
    const g = resultText({ values: { f: 2 }, gradient: { x: [1, 2] }, stats: {}, timings }, 6);
    expect(g).toContain('gradient\n  df/dx [2]\n    1  2\n');
    expect(resultText({ values: { f: 2 }, stats: {}, timings }, 6)).toBe(
      'values\n  f = 2\ntime: 1.875 ms (validate 0.5, plan 0.25, evaluate 0.125, differentiate 1)\n',
    );
  });

  test('base64 tensors and coo blocks are read', () => {
    const bytes = Buffer.alloc(16);
    bytes.writeDoubleLE(1.5, 0);
    bytes.writeDoubleLE(-2, 8);
    const text = resultText(
      {
        values: { y: { dtype: 'float64', shape: [2], data: bytes.toString('base64') } },
        jacobian: { y: { x: { shape: [2, 2], rows: [0, 1], cols: [0, 1], values: [3, 4] } } },
        stats: {},
        timings,
      },
      6,
    );
    expect(text).toContain('values\n  y [2]\n    1.5  -2\n');
    expect(text).toContain('  dy/dx [2,2] coo, 2 non-zeros\n    (0, 0)  3\n    (1, 1)  4\n');
  });
});

test('a grid of many blocks shows the first and last, and counts the rest', () => {
  const n = 500;
  const row = Object.fromEntries(Array.from({ length: n }, (_, i) => [`x${i}`, i]));
  const text = resultText({ values: { f: 1 }, gradient: row, stats: {}, timings }, 6);
  expect(text).toContain('  df/dx0 = 0\n');
  expect(text).toContain(`  df/dx${n - 1} = ${n - 1}\n`);
  expect(text).not.toContain('  df/dx250 ');
  expect(text).toContain(`  …\n  df/dx${n - MAX_BLOCKS / 2} = ${n - MAX_BLOCKS / 2}\n`);
  expect(text).toContain(`  (${n - MAX_BLOCKS} more not shown; --json prints everything)\n`);
  expect(text.split('\n').length).toBeLessThan(MAX_BLOCKS + 10);
});

describe('explanationText', () => {
  const explanation = {
    operation: 'jacobian',
    mode: 'forward',
    reason: '1 active input element vs 1 output element',
    directions: 1,
    inputs: [
      { name: 'x', shape: [], active: true },
      { name: 'w', shape: [3], active: false },
    ],
    nodes: [
      { id: 's', op: 'sin', args: ['x'], shape: [], active: true, from: 'define.y' },
      { id: 'k', op: 'fill', args: [], shape: [3], value: 2, active: false },
      { id: 'y', op: 'mul', args: ['s', 2], shape: [], active: true, from: 'define.y' },
    ],
    outputs: [{ name: 'y', shape: [] }],
  };

  test('the call on two lines, then inputs, nodes and outputs as aligned tables', () => {
    expect(explanationText(explanation)).toBe(
      [
        'operation: jacobian',
        'mode: forward, 1 direction (1 active input element vs 1 output element)',
        'inputs',
        '  name  shape  active',
        '  x     []     yes',
        '  w     [3]    no',
        'nodes',
        '  id  op    args  shape  active  from      attributes',
        '  s   sin   x     []     yes     define.y',
        '  k   fill        [3]    no                {"value":2}',
        '  y   mul   s 2   []     yes     define.y',
        'outputs',
        '  name  shape',
        '  y     []',
        '',
      ].join('\n'),
    );
  });

  test('a graph of many nodes shows the first and last, and counts the rest', () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => ({ id: `n${i}`, op: 'sin', args: ['x'], shape: [], active: true }));
    const text = explanationText({ ...explanation, nodes });
    expect(text).toContain('  n0 ');
    expect(text).toContain('  n999 ');
    expect(text).not.toContain('  n500 ');
    expect(text).toContain(`(${1000 - MAX_NODES_SHOWN} nodes not shown; --json prints everything)`);
    // no node has a from or an attribute: no such columns
    expect(text).toContain('\n  id    op   args  shape  active\n');
    expect(text.split('\n').length).toBeLessThan(MAX_NODES_SHOWN + 20);
  });
});

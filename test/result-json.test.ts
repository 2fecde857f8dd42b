/**
 * The generated result writer (src/api/result-json.ts): for the same prepared
 * call, resultJson of the 'packed' result is byte for byte JSON.stringify of the
 * 'json' result, the text the service sent before, over random graphs and every
 * operation, both encodings, with and without `check`; with NaN and ±Infinity in
 * values, derivatives and check errors; with names JSON must escape or that
 * JSON.stringify puts first (integer-like); and on layouts too large to generate.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MAX_GENERATED_LEAVES, nestedText, resultJson } from '../src/api/result-json.js';
import { type Operation, prepare, respond, type Result } from '../src/index.js';
import { randomGraphCase, withScalarOutput, type GraphCase } from './helpers/random-graph.js';

const SEED = Number(process.env.RANDOM_GRAPHS_SEED ?? 20_251_202);

type Encoding = 'json' | 'base64';

/** Both texts of one prepared call: the generated writer's, and JSON.stringify of the 'json' result. */
function bothTexts(operation: Operation, request: object): { generated: string; stringified: string } {
  const call = prepare(operation, request);
  const packed = respond(call, { output: 'packed' });
  const json = respond(call, { output: 'json' }) as Result;
  // Timings differ between two runs: the 'json' envelope gets the packed one's (same keys, same place).
  json.timings = packed.timings;
  return { generated: resultJson(packed, call.request.encoding), stringified: JSON.stringify(json) };
}

function expectSameText(operation: Operation, request: object): string {
  const { generated, stringified } = bothTexts(operation, request);
  expect(generated, `${operation} ${JSON.stringify(request).slice(0, 400)}`).toBe(stringified);
  return generated;
}

const FIRST_ORDER: Operation[] = ['evaluate', 'jacobian', 'jvp', 'vjp'];
const SCALAR: Operation[] = ['gradient', 'hessian', 'hvp'];

function requestFor(c: GraphCase, operation: Operation, encoding: Encoding, check: boolean, mode: string): object {
  const base = { graph: c.graph, args: c.args, constant: c.constant, encoding, ...(operation === 'evaluate' ? {} : { mode, check }) };
  if (operation === 'jvp') return { ...base, tangents: c.tangents };
  if (operation === 'hvp') return { ...base, vector: c.vector };
  if (operation === 'vjp') return { ...base, cotangents: c.cotangents };
  return base;
}

describe('resultJson writes what JSON.stringify wrote', () => {
  test('random graphs, every operation, both encodings, with and without check', async () => {
    let compared = 0;
    await fc.assert(
      fc.property(
        randomGraphCase(),
        fc.constantFrom<Encoding>('json', 'base64'),
        fc.boolean(),
        fc.constantFrom('forward', 'reverse', 'auto'),
        (c, encoding, check, mode) => {
          for (const op of FIRST_ORDER) {
            expectSameText(op, requestFor(c, op, encoding, check, mode));
            compared++;
          }
          const scalar = withScalarOutput(c, 'sumsq');
          for (const op of SCALAR) {
            expectSameText(op, requestFor(scalar, op, encoding, check, op === 'gradient' ? mode : 'auto'));
            compared++;
          }
        },
      ),
      { seed: SEED, numRuns: 60 },
    );
    expect(compared).toBe(60 * 7);
  });

  test('NaN, Infinity and -Infinity in values, derivatives and check errors, both encodings', () => {
    // log(x) at x = -1, 0, 1 and 1/x: NaN, -Infinity and Infinity in values and derivatives.
    const graph = {
      inputs: [{ name: 'x', shape: [2, 3] }],
      nodes: [
        { id: 'l', op: 'log', args: ['x'] },
        { id: 'r', op: 'div', args: [1, 'x'] },
        { id: 'e', op: 'exp', args: ['x'] },
      ],
      outputs: ['l', 'r', 'e'],
    };
    const args = {
      x: [
        [-1, 0, 1],
        [-0, 800, 'Infinity'],
      ],
    };
    for (const encoding of ['json', 'base64'] as const) {
      for (const check of [false, true]) {
        const text = expectSameText('jacobian', { graph, args, mode: 'forward', encoding, check });
        if (encoding === 'json') {
          expect(text).toContain('"NaN"');
          expect(text).toContain('"Infinity"');
          expect(text).toContain('"-Infinity"');
        }
        if (check) expect(text).toMatch(/"check":\{"maxAbsError":"?(NaN|Infinity)/);
        expectSameText('evaluate', { graph, args, encoding });
      }
    }
  });

  test('names JSON escapes, integer-like names (written first) and __proto__', () => {
    const names = ['b"q\\', '10', '2', '__proto__', 'é\u2028\n', 'a'];
    const graph = {
      inputs: names.map((name) => ({ name: `in ${name}`, shape: [2] })),
      nodes: names.map((name, i) => ({ id: name, op: 'mul', args: [`in ${name}`, i + 0.5] })),
      outputs: [...names].reverse(),
    };
    const args = Object.fromEntries(names.map((name, i) => [`in ${name}`, [i, -i / 3]]));
    for (const encoding of ['json', 'base64'] as const)
      for (const op of ['jacobian', 'evaluate', 'jvp', 'vjp'] as const) {
        const tangents = Object.fromEntries(names.map((name) => [`in ${name}`, [1, 2]]));
        const cotangents = Object.fromEntries(names.map((name) => [name, [3, 4]]));
        const extra = op === 'jvp' ? { tangents } : op === 'vjp' ? { cotangents } : {};
        const text = expectSameText(op, { graph, args, encoding, ...extra });
        expect(text.indexOf('"2":')).toBeLessThan(text.indexOf('"a":')); // integer-like keys come first, as JSON.stringify has them
      }
  });

  test(`a layout of more than ${MAX_GENERATED_LEAVES} leaves is written interpreted, the same`, () => {
    const n = 17; // a 17 × 17 grid of Jacobian blocks: 289 leaves
    const graph = {
      inputs: Array.from({ length: n }, (_, i) => ({ name: `x${i}`, shape: [] })),
      nodes: Array.from({ length: n }, (_, i) => ({ id: `y${i}`, op: 'mul', args: [`x${i}`, `x${(i + 1) % n}`] })),
      outputs: Array.from({ length: n }, (_, i) => `y${i}`),
    };
    const args = Object.fromEntries(Array.from({ length: n }, (_, i) => [`x${i}`, i / 7]));
    for (const encoding of ['json', 'base64'] as const) expectSameText('jacobian', { graph, args, encoding });
  });

  test('tensors of every rank, empty dimensions and views into longer buffers', () => {
    const cases: [number[], number][] = [
      [[], 1],
      [[0], 0],
      [[3], 3],
      [[2, 0], 0],
      [[0, 2], 0],
      [[2, 3], 6],
      [[2, 1, 3], 6],
      [[1, 2, 2, 2], 8],
    ];
    for (const [shape, size] of cases)
      for (const special of [false, true]) {
        const data = Float64Array.from({ length: size + 3 }, (_, i) =>
          special && i % 2 === 1 ? [Number.NaN, -Infinity, Infinity, -0][(i >> 1) % 4] : i / 3 - 1,
        );
        if (special && size > 1) data[size - 1] = Number.NaN;
        const view = data.subarray(0, size); // the buffer is longer than the tensor
        const nested = (k: { i: number }, depth: number): unknown =>
          depth === shape.length
            ? ((x: number) => (Number.isFinite(x) ? x : String(x)))(view[k.i++])
            : Array.from({ length: shape[depth] }, () => nested(k, depth + 1));
        expect(nestedText({ shape, data: view }), `${JSON.stringify(shape)} ${special}`).toBe(JSON.stringify(nested({ i: 0 }, 0)));
        expect(nestedText({ shape, data: data }), `${JSON.stringify(shape)} ${special} (longer data)`).toBe(
          JSON.stringify(nested({ i: 0 }, 0)),
        );
      }
  });
});

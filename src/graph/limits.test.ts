/**
 * What keeps one request from exhausting the service: input counts (MAX_INPUTS),
 * everything a result returns (MAX_ELEMENTS over values and derivatives, and a
 * bound of its JSON against MAX_RESPONSE_BYTES, checked before any arithmetic),
 * error lists capped however many faults a request has, and number literals too
 * large for a double refused instead of read as infinities.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as api from '../index.js';
import { DerivdError, MAX_ISSUES } from './errors.js';
import { DEFAULT_LIMITS, resultSize } from './limits.js';
import { checkRequest } from './request.js';
import { toBase64 } from '../tensor/base64.js';
import { OPERATIONS } from './schema.js';
import { caught } from '../../test/helpers/issues.js';
import { randomGraphCase, withScalarOutput } from '../../test/helpers/random-graph.js';

const scalarInputs = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `a${i}`, shape: [] }));

describe('MAX_INPUTS', () => {
  it('refuses a graph with more inputs than the limit before anything else, naming graph.inputs', () => {
    const inputs = scalarInputs(DEFAULT_LIMITS.maxInputs + 1);
    const graph = {
      inputs,
      nodes: [
        { id: 's', op: 'stack', args: inputs.map((x) => x.name) },
        { id: 'y', op: 'sum', args: ['s'] },
      ],
      outputs: ['y'],
    };
    const err = caught(() => checkRequest('gradient', { graph, args: {}, bogus: 1 }));
    expect(err.kind).toBe('limit_exceeded');
    expect(err.issues).toEqual([
      {
        path: 'graph.inputs',
        message: `expected at most ${DEFAULT_LIMITS.maxInputs} inputs (MAX_INPUTS), found ${DEFAULT_LIMITS.maxInputs + 1}`,
      },
    ]);
  });

  it('counts inputs only: a graph of MAX_NODES - 1 nodes and one input is valid', async () => {
    const nodes = Array.from({ length: 9_999 }, (_, i) => ({ id: `n${i}`, op: 'sin', args: [i === 0 ? 'x' : `n${i - 1}`] }));
    const r = await api.evaluate({ graph: { inputs: [{ name: 'x', shape: [] }], nodes, outputs: ['n9998'] }, args: { x: 0.5 } });
    expect(typeof r.values.n9998).toBe('number');
  });

  it('is configurable', async () => {
    const graph = { inputs: scalarInputs(3), nodes: [{ id: 'y', op: 'add', args: ['a0', 'a1'] }], outputs: ['y'] };
    const args = { a0: 1, a1: 2, a2: 3 };
    await expect(api.evaluate({ graph, args }, { limits: { maxInputs: 2 } })).rejects.toMatchObject({
      kind: 'limit_exceeded',
      issues: [{ path: 'graph.inputs' }],
    });
    await expect(api.evaluate({ graph, args }, { limits: { maxInputs: 3 } })).resolves.toMatchObject({ values: { y: 3 } });
  });
});

describe('everything a result returns counts', () => {
  const three = {
    inputs: [{ name: 'x', shape: [] }],
    nodes: ['a', 'b', 'c'].map((id) => ({ id, op: 'range', stop: 40 })),
    outputs: ['a', 'b', 'c'],
  };

  it('values of all outputs together count against MAX_ELEMENTS', async () => {
    const limits = { maxElements: 100 };
    const err = await api.evaluate({ graph: three, args: { x: 0 } }, { limits }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DerivdError);
    expect(err).toMatchObject({
      kind: 'limit_exceeded',
      issues: [{ path: 'graph.outputs', message: expect.stringContaining('120 numbers') }],
    });
    await expect(api.evaluate({ graph: three, args: { x: 0 }, outputs: ['a', 'c'] }, { limits })).resolves.toBeDefined();
    await expect(api.evaluate({ graph: three, args: { x: 0 }, outputs: ['a', 'b', 'c'] }, { limits })).rejects.toMatchObject({
      issues: [{ path: 'outputs' }],
    });
  });

  it('values and derivative blocks count together', async () => {
    const graph = { inputs: [{ name: 'x', shape: [10] }], nodes: [{ id: 'y', op: 'sin', args: ['x'] }], outputs: ['y'] };
    const body = { graph, args: { x: new Array(10).fill(0.5) } };
    await expect(api.jacobian(body, { limits: { maxElements: 109 } })).rejects.toMatchObject({
      kind: 'limit_exceeded',
      issues: [{ message: expect.stringContaining('110 numbers (values 10, derivatives 100)') }],
    });
    await expect(api.jacobian(body, { limits: { maxElements: 110 } })).resolves.toBeDefined();
  });

  it('a bound of the JSON against MAX_RESPONSE_BYTES, before anything is computed', async () => {
    // a matmul of 3000 × 3000 would take seconds: refused while validating
    const graph = {
      inputs: [{ name: 'x', shape: [] }],
      nodes: [
        { id: 'f', op: 'fill', shape: [3000, 3000], value: 1 },
        { id: 'y', op: 'matmul', args: ['f', 'f'] },
      ],
      outputs: ['y'],
    };
    // prepare() validates and plans; it never evaluates
    const err = caught(() => api.prepare('evaluate', { graph, args: { x: 0 } }, { limits: { maxResponseBytes: 8 << 20 } }));
    expect(err).toMatchObject({
      kind: 'limit_exceeded',
      issues: [
        {
          path: 'graph.outputs',
          message: expect.stringMatching(/could take up to \d+ bytes as JSON, more than MAX_RESPONSE_BYTES \(8388608\)/),
        },
      ],
    });
  });

  it('the bound is never below the JSON the service writes (random graphs, every operation, json and base64)', async () => {
    await fc.assert(
      fc.asyncProperty(randomGraphCase(), async (c) => {
        const s = withScalarOutput(c, 'sum');
        for (const operation of OPERATIONS) {
          const scalar = operation === 'gradient' || operation === 'hessian' || operation === 'hvp';
          const k = scalar ? s : c;
          const request = {
            graph: k.graph,
            args: k.args,
            constant: k.constant,
            ...(operation === 'jvp' ? { tangents: k.tangents } : {}),
            ...(operation === 'vjp' ? { cotangents: k.cotangents } : {}),
            ...(operation === 'hvp' ? { vector: k.vector } : {}),
          };
          const prepared = api.prepare(operation, { ...request, check: true });
          const req = prepared.request;
          const bound = resultSize(
            operation,
            req.activeInputs.map((i) => req.graph.inputs[i]),
            req.outputs,
          ).bytes;
          const json = JSON.stringify(api.respond(prepared, { output: 'json' }));
          expect(Buffer.byteLength(json)).toBeLessThanOrEqual(bound);
          // the same with base64 tensors, against the base64 bound
          const binary = api.prepare(operation, { ...request, check: true, encoding: 'base64' });
          const bound64 = resultSize(
            operation,
            req.activeInputs.map((i) => req.graph.inputs[i]),
            req.outputs,
            'base64',
          ).bytes;
          const json64 = JSON.stringify(api.respond(binary, { output: 'json' }));
          expect(json64).toContain('"dtype":"float64"');
          expect(Buffer.byteLength(json64)).toBeLessThanOrEqual(bound64);
        }
      }),
      { numRuns: 60, seed: 8 },
    );
  });
});

describe('the base64 bound', () => {
  const at = (shape: number[]) => ({ name: 'x', shape });
  it('is tight enough to be useful: about 32/3 bytes per number, against 25 for JSON', () => {
    const big = [at([1000, 1000])];
    const json = resultSize('gradient', big, [{ name: 'y', shape: [] }]).bytes;
    const b64 = resultSize('gradient', big, [{ name: 'y', shape: [] }], 'base64').bytes;
    expect(b64).toBeLessThan(json / 2);
    expect(b64).toBeGreaterThan((32 / 3) * 1e6);
  });

  it('holds for the worst shapes: long dimensions, many dimensions, many small tensors', () => {
    const shapes = [[], [0], [1], [2], [3], [9_007_199_254_740_991, 0], Array(64).fill(1), [123_456_789, 0, 1]];
    for (const shape of shapes) {
      const inputs = [at(shape), { name: 'y', shape: [1] }];
      for (const operation of ['jacobian', 'hessian', 'gradient', 'evaluate', 'jvp'] as const) {
        const outputs: { name: string; shape: number[] }[] = [{ name: 'o', shape: [] }];
        const { bytes } = resultSize(operation, inputs, outputs, 'base64');
        // what the encoder writes for these blocks, as the result envelope holds them
        const blocks: number[][] = outputs.map((o) => o.shape);
        if (operation === 'jacobian') blocks.push(...inputs.map((i) => [...outputs[0].shape, ...i.shape]));
        if (operation === 'hessian') for (const a of inputs) for (const b of inputs) blocks.push([...a.shape, ...b.shape]);
        if (operation === 'gradient') blocks.push(...inputs.map((i) => i.shape));
        if (operation === 'jvp') blocks.push(...outputs.map((o) => o.shape));
        const written = blocks.reduce((sum, shape) => {
          const n = shape.reduce((p, d) => p * d, 1);
          return sum + JSON.stringify({ x: toBase64({ shape, data: new Float64Array(n) }) }).length;
        }, 0);
        expect(written, `${operation} ${JSON.stringify(shape)}`).toBeLessThanOrEqual(bytes - 4096);
      }
    }
  });
});

describe('error lists are capped', () => {
  const graph = { inputs: [{ name: 'x', shape: [] }], nodes: [{ id: 'y', op: 'sin', args: ['x'] }], outputs: ['y'] };

  it('200,000 unknown argument keys: the first 100 issues and a count, under 1 MB', () => {
    const args: Record<string, number> = { x: 1 };
    for (let i = 0; i < 200_000; i++) args[`k${i}`] = 0;
    const err = caught(() => checkRequest('evaluate', { graph, args }));
    expect(err.kind).toBe('invalid_graph');
    expect(err.issues).toHaveLength(MAX_ISSUES + 1);
    expect(err.issues[0].path).toBe('args.k0');
    expect(err.issues[MAX_ISSUES]).toEqual({
      path: 'args.k100',
      message: `and 199900 more issues (only the first ${MAX_ISSUES} are listed)`,
    });
    expect(JSON.stringify(err.issues).length).toBeLessThan(1 << 20);
  });

  it('200,000 unknown top-level fields, and 200,000 unknown constant names', () => {
    const body: Record<string, unknown> = { graph, args: { x: 1 } };
    for (let i = 0; i < 200_000; i++) body[`f${i}`] = 0;
    const err = caught(() => checkRequest('evaluate', body));
    expect(err.kind).toBe('invalid_request');
    expect(err.issues).toHaveLength(MAX_ISSUES + 1);
    expect(err.issues[MAX_ISSUES].message).toBe(`and 199900 more issues (only the first ${MAX_ISSUES} are listed)`);

    const constant = Array.from({ length: 200_000 }, (_, i) => `c${i}`);
    const err2 = caught(() => checkRequest('evaluate', { graph, args: { x: 1 }, constant }));
    expect(err2.issues).toHaveLength(MAX_ISSUES + 1);
    expect(err2.issues[0]).toMatchObject({ path: 'constant[0]' });
  });

  it('the library error caps what it is given, too', () => {
    const many = Array.from({ length: 250 }, (_, i) => ({ path: `p${i}`, message: 'm' }));
    const err = new DerivdError('invalid_graph', many);
    expect(err.issues).toHaveLength(MAX_ISSUES + 1);
    expect(err.issues[MAX_ISSUES]).toEqual({ path: 'p100', message: 'and 150 more issues (only the first 100 are listed)' });
    expect(new DerivdError('invalid_graph', many.slice(0, 100)).issues).toHaveLength(100);
    // a list already cut to 100 and a count (as a worker sends one back) is kept as it is
    expect(new DerivdError('invalid_graph', err.issues).issues).toEqual(err.issues);
  });
});

describe('number literals too large for a double', () => {
  const graph = {
    inputs: [
      { name: 'x', shape: [] },
      { name: 'v', shape: [2] },
    ],
    nodes: [{ id: 'y', op: 'mul', args: ['x', 'v'] }],
    outputs: ['y'],
  };

  it('are refused with their path, not read as Infinity, in a request parsed from JSON', async () => {
    const body = JSON.parse(`{"graph": ${JSON.stringify(graph)}, "args": {"x": 1e999, "v": [1, -1e400]}}`);
    const err = caught(() => checkRequest('evaluate', body, DEFAULT_LIMITS, undefined, undefined, true));
    expect(err.kind).toBe('invalid_request');
    expect(err.issues.map((i) => i.path)).toEqual(['args.x', 'args.v[1]']);
    expect(err.issues[0].message).toMatch(/too large for a double \(such as 1e999\); write "Infinity"/);
    await expect(api.evaluate(body, { strictFloats: true })).rejects.toMatchObject({ kind: 'invalid_request' });
    // library callers may mean a JavaScript infinity
    await expect(api.evaluate(body)).resolves.toMatchObject({ values: { y: [Infinity, -Infinity] } });
  });

  it('while the strings still stand for infinities', async () => {
    const r = await api.evaluate({ graph, args: { x: 'Infinity', v: [1, 2] } }, { output: 'json' });
    expect(r.values.y).toEqual(['Infinity', 'Infinity']);
  });
});

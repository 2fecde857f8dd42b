/**
 * api/handoff.ts: a prepared call handed to another thread (here: another plan
 * cache, and a structured clone with the transfer list, as postMessage does)
 * gives the result prepare + respond give, moves the argument buffers instead of
 * copying them, copies a tensor that does not own its buffer, and needs the graph
 * only where the receiving cache lacks it.
 */
import { describe, expect, test } from 'vitest';
import { handOff, needsGraph, PlanCache, prepare, respond, takeOver } from '../src/api/index.js';

const graph = {
  inputs: [
    { name: 'x', shape: [3] },
    { name: 'k', shape: [] },
  ],
  nodes: [
    { id: 'p', op: 'mul', args: ['x', 'k'] },
    { id: 'y', op: 'sin', args: ['p'] },
    { id: 's', op: 'sum', args: ['y'] },
  ],
  outputs: ['y', 's'],
};
const strip = ({ timings: _t, ...rest }: Record<string, unknown>) => rest;

describe('handOff and takeOver', () => {
  test('the receiving thread computes the sender’s result, asking for the graph only while it does not have it', () => {
    const request = { graph, args: { x: [0.1, 0.2, 0.3], k: 2 }, outputs: ['s', 'y'], constant: ['k'] };
    const here = new PlanCache(1 << 24);
    const there = new PlanCache(1 << 24);
    const expected = respond(prepare('jacobian', request, { cache: here, output: 'json' }), { output: 'json' });
    for (const round of [0, 1]) {
      const call = prepare('jacobian', request, { cache: here });
      const { handoff, transfer } = handOff(call);
      const args = call.request.args.map((t) => t.data);
      const received = structuredClone(handoff, { transfer });
      for (const a of args) expect(a.length).toBe(0); // moved, not copied
      expect(needsGraph(received, { cache: there })).toBe(round === 0);
      const taken = takeOver(received, round === 0 ? graph : undefined, { cache: there });
      const result = respond(taken, { output: 'json' });
      expect(strip(result as never)).toEqual({
        ...strip(expected as never),
        stats: { ...expected.stats, cache: round === 0 ? 'miss' : 'hit' },
      });
    }
  });

  test('a tensor that does not own its whole buffer is copied, and its buffer left alone', () => {
    const buffer = new Float64Array([9, 0.1, 0.2, 0.3, 9]);
    const view = { shape: [3], data: buffer.subarray(1, 4) };
    const call = prepare('evaluate', { graph, args: { x: view, k: 1 } }, { cache: new PlanCache(1 << 24) });
    const { handoff, transfer } = handOff(call);
    expect(transfer).not.toContain(buffer.buffer);
    const received = structuredClone(handoff, { transfer });
    expect(buffer.length).toBe(5);
    expect([...received.request.args[0].data]).toEqual([0.1, 0.2, 0.3]);
  });

  test('without the graph where the cache lacks it, takeOver says so instead of guessing', () => {
    const call = prepare('evaluate', { graph, args: { x: [1, 2, 3], k: 1 } }, { cache: new PlanCache(1 << 24) });
    const { handoff } = handOff(call);
    expect(() => takeOver(handoff, undefined, { cache: new PlanCache(1 << 24) })).toThrow(/not cached here and was not sent/);
  });
});

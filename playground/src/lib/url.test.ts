import { describe, expect, test } from 'vitest';
import { EXAMPLES } from './examples.js';
import { decodeState, encodeState, MAX_HASH } from './url.js';

describe('state in the URL', () => {
  test('every example survives a round trip, in a link of URL-safe characters', async () => {
    for (const { state } of EXAMPLES) {
      const hash = await encodeState(state);
      expect(hash).toMatch(/^#s=[A-Za-z0-9_-]+$/);
      expect(await decodeState(hash)).toEqual(state);
    }
  });

  test('compression keeps the seed link short', async () => {
    expect((await encodeState(EXAMPLES[0].state)).length).toBeLessThan(600);
  });

  test('a hash without state is null; a broken one is a clear error', async () => {
    expect(await decodeState('')).toBeNull();
    expect(await decodeState('#other')).toBeNull();
    const hash = await encodeState(EXAMPLES[0].state);
    await expect(decodeState(hash.slice(0, 40))).rejects.toThrow("the link's state cannot be read");
    await expect(decodeState('#s=not*base64')).rejects.toThrow('not base64url');
  });

  test('a well-formed link with a wrong state names what is wrong', async () => {
    const bad = await encodeState({ ...EXAMPLES[0].state, operation: 'nope' as never });
    await expect(decodeState(bad)).rejects.toThrow('operation must be one of');
  });

  test('too large either way is refused', async () => {
    const big = { ...EXAMPLES[0].state, formulas: Array.from({ length: 4000 }, (_, i) => `v${i} = ${Math.random()}`).join('\n') };
    await expect(encodeState(big)).rejects.toThrow('too large for a link');
    await expect(decodeState(`#s=${'A'.repeat(MAX_HASH + 1)}`)).rejects.toThrow('too long');
    // a deflate bomb: a megabyte of spaces deflates to a short link, and is refused when inflated
    const bomb = new Uint8Array(1 << 20).fill(32);
    const cs = new Blob([bomb]).stream().pipeThrough(new CompressionStream('deflate'));
    const bytes = new Uint8Array(await new Response(cs).arrayBuffer());
    const hash = `#s=${Buffer.from(bytes).toString('base64url')}`;
    expect(hash.length).toBeLessThan(MAX_HASH);
    await expect(decodeState(hash)).rejects.toThrow('more than');
  });
});

/**
 * The committed WebAssembly gemm (src/ops/gemm-wasm.generated.ts) is what
 * `npm run build:wasm` builds from wasm/gemm.ts now: no drift between the readable
 * source and the bytes that run. Skipped, saying so, where AssemblyScript is not installed.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { buildGemmModule, GENERATED } from '../scripts/build-wasm.js';

const toolchain = (() => {
  try {
    createRequire(import.meta.url).resolve('assemblyscript/package.json');
    return true;
  } catch {
    return false;
  }
})();

describe('the WebAssembly gemm build', () => {
  it.skipIf(!toolchain)('the committed module is a fresh build of wasm/gemm.ts (skipped without AssemblyScript installed)', async () => {
    const committed = readFileSync(new URL(`../${GENERATED}`, import.meta.url), 'utf8');
    expect(await buildGemmModule()).toBe(committed);
  });
});

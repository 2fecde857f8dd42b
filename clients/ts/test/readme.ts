/** The README's quick-start example, as a module the tests can run and type-check. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SRC_INDEX = fileURLToPath(new URL('../src/index.js', import.meta.url));

/** The ```ts blocks of clients/ts/README.md, in order. */
export function readmeBlocks(): string[] {
  const md = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  // Blocks inside list items are indented: the indent is taken off.
  return [...md.matchAll(/^( *)```ts\n([\s\S]*?)^\1```$/gm)].map((m) =>
    (m[2] as string)
      .split('\n')
      .map((line) => line.slice((m[1] as string).length))
      .join('\n'),
  );
}

/**
 * The README's other ts blocks (fragments) as modules that type-check: each after
 * a preamble declaring what it uses. Written to one temporary directory; returns the files.
 */
export function fragmentModules(): string[] {
  const preamble = `import { add, graph, mul, sin } from ${JSON.stringify(SRC_INDEX)};
const g = graph();
const c0 = g.input('c0', [2]);
const xs = g.input('xs', [3, 2]);
`;
  const dir = mkdtempSync(join(tmpdir(), 'derivd-client-readme-'));
  return readmeBlocks()
    .slice(1)
    .map((block, i) => {
      const file = join(dir, `fragment-${i + 1}.mts`);
      writeFileSync(
        file,
        `${preamble}${block}
export { cs, step };
`,
      );
      return file;
    });
}

/**
 * The quick start (the README's first ts block) written to a temporary .mts file:
 * imports from the package's source, talking to `url`, exporting `res`.
 */
export function quickStartModule(url: string): string {
  const block = readmeBlocks()[0];
  if (block === undefined || !block.includes("from 'derivd-client'") || !block.includes("'http://127.0.0.1:8080'")) {
    throw new Error('the README quick start is not the block this test expects');
  }
  const text = `${block
    .replace("'derivd-client'", JSON.stringify(SRC_INDEX))
    .replace("'http://127.0.0.1:8080'", JSON.stringify(url))
    .replaceAll('console.log(', 'void (')}\nexport { res };\n`;
  const file = join(mkdtempSync(join(tmpdir(), 'derivd-client-readme-')), 'quick-start.mts');
  writeFileSync(file, text);
  return file;
}

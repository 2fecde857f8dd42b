/**
 * The derivd command run in this process (src/cli/main.ts's main), its output captured:
 *   cli(argv, stdin?)        { code, out, err }
 *   words(line)              a README command line as argv: single quotes, a `< file` redirect, no # comment
 *   readmeCommands(marker)   the `derivd ...` lines of the README's sh block that contains `marker`
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';

export interface Run {
  code: number;
  out: string;
  err: string;
}

export async function cli(argv: string[], stdin = '', env: Record<string, string> = {}): Promise<Run> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    stdin: Readable.from([Buffer.from(stdin)]),
    env,
  });
  return { code, out, err };
}

/** A command line as the shell would split it (single quotes only), and the file after `<`. */
export function words(line: string): { argv: string[]; stdinFile?: string } {
  const argv: string[] = [];
  let stdinFile: string | undefined;
  const tokens = line.replace(/\s+#.*$/, '').match(/'[^']*'|<|[^\s'<]+/g) ?? [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === '<') stdinFile = tokens[++i];
    else argv.push(tokens[i].startsWith("'") ? tokens[i].slice(1, -1) : tokens[i]);
  }
  return { argv, ...(stdinFile ? { stdinFile } : {}) };
}

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The README's ```sh block under "## Command line" that contains `marker`: its derivd lines. */
export function readmeCommands(marker: string): string[] {
  const section = README.split(/^## /m).find((s) => s.startsWith('Command line'));
  if (!section) throw new Error('README has no "## Command line" section');
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => b.includes(marker));
  if (blocks.length !== 1) throw new Error(`README: expected one sh block with ${marker}, found ${blocks.length}`);
  return blocks[0].split('\n').filter((l) => l.startsWith('derivd '));
}

/** The README's ```text block under "## Command line" that follows the prose containing `marker`. */
export function readmeOutput(marker: string): string {
  const section = README.split(/^## /m).find((s) => s.startsWith('Command line')) ?? '';
  const at = section.indexOf(marker);
  const m = at < 0 ? null : /```text\n([\s\S]*?)```/.exec(section.slice(at));
  if (!m) throw new Error(`README: no text block after ${marker}`);
  return m[1];
}

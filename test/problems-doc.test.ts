/**
 * docs/problems.md lists exactly the problems of src/server/problem.ts (a new one
 * cannot go undocumented), each row with its anchor, and every mention of a problem
 * type in README.md and docs/ links to its row.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { PROBLEMS } from '../src/server/problem.js';

const read = (file: string): string => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
const URN = 'urn:derivd:problem:';

/** A row's anchor: the URN's last part, or for about:blank the catalogue's key (not-found, internal, ...). */
const anchorOf = (key: string, type: string): string => (type.startsWith(URN) ? type.slice(URN.length) : key.replace(/_/g, '-'));

test('the table lists every problem of problem.ts, and nothing else', () => {
  const rows = [...read('docs/problems.md').matchAll(/^\| <a id="([\w-]+)"><\/a>`([^`]+)` \| (\d+) \| ([^|]+?) \|/gm)].map(
    ([, anchor, type, status, title]) => ({ anchor, type, status: Number(status), title }),
  );
  const catalogue = Object.entries(PROBLEMS).map(([key, e]) => ({
    anchor: anchorOf(key, e.type),
    type: e.type,
    status: e.status,
    title: e.title,
  }));
  expect(rows).toEqual(catalogue);
});

test('every mention of a problem type in README.md and docs/ links to its row', () => {
  const slugs = Object.values(PROBLEMS)
    .filter((e) => e.type.startsWith(URN))
    .map((e) => e.type.slice(URN.length));
  const pages: [string, string][] = [
    ['README.md', 'docs/problems.md'],
    ...readdirSync(new URL('../docs/', import.meta.url))
      .filter((f) => f.endsWith('.md') && f !== 'problems.md')
      .map((f): [string, string] => [`docs/${f}`, 'problems.md']),
  ];
  const unlinked: string[] = [];
  for (const [file, target] of pages) {
    // prose only: code blocks show wire values, not mentions
    const prose = read(file).replace(/^```[\s\S]*?^```/gm, '');
    for (const m of prose.matchAll(/(\[?)`((?:urn:derivd:problem:)?([\w-]+))`(\]\([^)]*\))?/g)) {
      const [, open, text, slug, link] = m;
      if (!slugs.includes(slug) || (!text.startsWith(URN) && text !== slug)) continue;
      if (!open || link !== `](${target}#${slug})`) unlinked.push(`${file}: ${m[0]}`);
    }
  }
  expect(unlinked).toEqual([]);
});

/** The README's configuration table lists every setting with its real default. */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { ConfigSchema } from '../../src/server/config.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('every configuration variable is in the README table with its default', () => {
  const defaults = ConfigSchema.parse({});
  for (const [name, value] of Object.entries(defaults)) {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
    expect(row, `README has no row for ${name}`).toBeDefined();
    const cell = row!.split('|')[2];
    if (value === '') expect(cell).toMatch(/empty/);
    else expect(cell).toContain(`\`${value}\``);
  }
});

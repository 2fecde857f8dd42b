import { Readable } from 'node:stream';
import { expect, test } from 'vitest';
import { CliError } from './args.js';
import { parseJson, readCapped, readInput } from './read.js';

const refusal = async (p: Promise<unknown>): Promise<CliError> => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof CliError)) throw new Error(`expected a CliError, got ${String(err)}`);
  return err;
};

test('input is read up to the cap and refused past it, without reading on', async () => {
  expect((await readCapped(Readable.from([Buffer.from('12'), Buffer.from('34')]), 4, 'stdin')).toString()).toBe('1234');
  let pulled = 0;
  async function* endless() {
    for (;;) {
      pulled++;
      yield Buffer.alloc(1000);
    }
  }
  const err = await refusal(readCapped(endless(), 4500, 'stdin'));
  expect(err.exitCode).toBe(2);
  expect(err.lines).toEqual(["stdin is larger than 4500 bytes (the service's BODY_LIMIT)"]);
  expect(pulled).toBe(5);
});

test('a missing file and bad JSON are bad input (exit 2) naming the file', async () => {
  const missing = await refusal(readInput('/nonexistent/request.json', Readable.from([]), 100));
  expect([missing.exitCode, missing.lines]).toEqual([2, ['cannot read /nonexistent/request.json: no such file']]);
  let bad: unknown;
  try {
    parseJson('{"graph":', 'r.json');
  } catch (e) {
    bad = e;
  }
  expect(bad).toBeInstanceOf(CliError);
  expect((bad as CliError).exitCode).toBe(2);
  expect((bad as CliError).lines[0]).toBe('The body is not valid JSON');
  expect((bad as CliError).lines[1]).toMatch(/^ {2}r\.json: /);
});

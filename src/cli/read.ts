/**
 * Reading a request: from a file or stdin, never more than a cap (the service's
 * BODY_LIMIT, so what the CLI reads the service would accept), then parsed as JSON.
 */
import { createReadStream } from 'node:fs';
import { CliError } from './args.js';

/** The bytes of `source`, or an error once more than `cap` have come. */
export async function readCapped(source: AsyncIterable<Uint8Array | string>, cap: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += b.byteLength;
    if (size > cap) throw new CliError(2, [`${what} is larger than ${cap} bytes (the service's BODY_LIMIT)`]);
    chunks.push(b);
  }
  return Buffer.concat(chunks, size);
}

/** The text of FILE, or of stdin for "-". */
export async function readInput(file: string, stdin: AsyncIterable<Uint8Array | string>, cap: number): Promise<string> {
  if (file === '-') return (await readCapped(stdin, cap, 'stdin')).toString('utf8');
  try {
    return (await readCapped(createReadStream(file), cap, file)).toString('utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a directory' : e.message;
    throw new CliError(2, [`cannot read ${file}: ${why}`]);
  }
}

/** JSON text as a value; bad JSON is bad input, reported as the service reports it (a malformed body). */
export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(2, ['The body is not valid JSON', `  ${where}: ${(err as Error).message}`]);
  }
}

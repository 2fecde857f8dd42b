/**
 * The state in the URL's hash, so that a link reproduces the page: JSON,
 * deflated (CompressionStream, in every current browser and in node), in
 * base64url, after `#s=`. Bounded both ways: a state that would make a link
 * longer than MAX_HASH is refused when encoding, and a hash is inflated at most
 * to MAX_JSON bytes, so a crafted link cannot make the page inflate a bomb.
 */
import { checkState, type PlaygroundState } from './state.js';

export const MAX_HASH = 16_000;
export const MAX_JSON = 256_000;
const PREFIX = '#s=';

function toBase64Url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error('not base64url');
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function pipe(bytes: Uint8Array, stream: { readable: ReadableStream; writable: WritableStream }, limit: number): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  writer.write(bytes as Uint8Array<ArrayBuffer>).catch(() => {});
  writer.close().catch(() => {});
  const reader = (stream.readable as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      throw new Error(`more than ${limit} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export async function encodeState(state: PlaygroundState): Promise<string> {
  const json = new TextEncoder().encode(JSON.stringify(state));
  const hash = PREFIX + toBase64Url(await pipe(json, new CompressionStream('deflate'), Number.POSITIVE_INFINITY));
  if (hash.length > MAX_HASH) throw new Error(`the state is too large for a link (${hash.length} > ${MAX_HASH} characters)`);
  return hash;
}

/** The state a hash holds; null when the hash holds none; an Error saying what is wrong when it is not a state. */
export async function decodeState(hash: string): Promise<PlaygroundState | null> {
  if (!hash.startsWith(PREFIX)) return null;
  const body = hash.slice(PREFIX.length);
  if (body.length > MAX_HASH) throw new Error(`the link's state is too long (${body.length} > ${MAX_HASH} characters)`);
  let json: string;
  try {
    json = new TextDecoder('utf-8', { fatal: true }).decode(await pipe(fromBase64Url(body), new DecompressionStream('deflate'), MAX_JSON));
  } catch (e) {
    throw new Error(`the link's state cannot be read (${(e as Error).message}): was it cut short?`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error("the link's state is not JSON");
  }
  return checkState(parsed);
}

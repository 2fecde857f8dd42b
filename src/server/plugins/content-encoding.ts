/**
 * Request bodies may be sent compressed: `Content-Encoding: gzip` (or its alias
 * x-gzip), `deflate` (the zlib format, as HTTP means it) or `br`. Fastify does
 * not decode Content-Encoding itself; a root preParsing hook (after
 * authentication and rate limits, before any byte of the body is read) puts a
 * streaming decoder between the socket and Fastify's body reader:
 *
 * - BODY_LIMIT bounds the inflated body. The decoder's output is counted as it
 *   comes and the decoding stops at the first byte past the limit: a gzip bomb
 *   is a 413 urn:derivd:problem:limit-exceeded after at most BODY_LIMIT bytes of
 *   output, never a memory spike, and decoding runs in zlib's thread pool in
 *   chunks, so a large body never holds the event loop. Fastify itself also
 *   applies bodyLimit to the stream a preParsing hook returns (counting its
 *   output; a test in content-encoding.test.ts checks it, and that it stops
 *   reading there), so this count is a second guard that does not depend on
 *   that detail, and it gives the 413 a detail naming the coding and drains
 *   the rest of the body. A Content-Length over BODY_LIMIT is refused by
 *   Fastify before anything is decoded.
 * - A body that is not valid in its coding (corrupt, truncated) is a 400
 *   urn:derivd:problem:malformed-body naming the coding.
 * - The inflated text then takes the path of any identity body: the JSON
 *   parser, which hands a large one to a worker as text (raw-body.ts), and the
 *   placement's price, which counts inflated bytes (`bodyBytes`).
 *
 * Any other coding, or more than one coding, is a 415
 * urn:derivd:problem:unsupported-content-encoding listing the accepted ones in
 * `Accept-Encoding`, as RFC 9110 §15.5.16 suggests.
 *
 * Only requests that carry a body are checked: the header describes the body,
 * and a probe's GET must never fail over it.
 */
import { Transform, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InflatedTooLarge, MalformedBody, ProblemError } from '../problem.js';

/** The codings a request body may be sent in, and their decoders (a Map: a coding named "constructor" is just unknown). */
const DECODERS = new Map<string, () => Transform>([
  ['gzip', createGunzip],
  ['x-gzip', createGunzip],
  ['deflate', createInflate],
  ['br', createBrotliDecompress],
]);
/** The Accept-Encoding of a 415: what a request body may be sent in. */
export const ACCEPTED_REQUEST_CODINGS = 'gzip, deflate, br, identity';

/** The codings named by a Content-Encoding header other than identity (lower-cased), in order. */
export function nonIdentityCodings(header: string | string[] | undefined): string[] {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  return value
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
}

const hasBody = (request: FastifyRequest): boolean => {
  const { headers } = request;
  if (request.method === 'GET' || request.method === 'HEAD') return false; // Fastify never reads their bodies
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
};

/** Inflated body sizes, by request (absent: the body was not encoded). */
const inflatedBytes = new WeakMap<FastifyRequest, number>();

/** The size of the request's body as parsed: inflated if it was sent compressed, else its Content-Length (0 if unknown). */
export const bodyBytes = (request: FastifyRequest): number =>
  inflatedBytes.get(request) ?? (Number(request.headers['content-length']) || 0);

/**
 * `payload` decoded with `decoder`, as the stream Fastify reads the body from:
 * at most `limit` bytes of output, then InflatedTooLarge; a decoding error is
 * MalformedBody. `receivedEncodedLength` (the bytes read from the socket) is
 * what Fastify compares with Content-Length.
 */
function inflate(request: FastifyRequest, payload: Readable, coding: string, decoder: Transform, limit: number): Readable {
  let inflated = 0;
  const stop = (): void => {
    payload.unpipe(decoder);
    decoder.destroy();
    payload.resume(); // drain the rest of the body (as Fastify does past its limit) rather than leave the socket paused
  };
  const out = Object.assign(
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        inflated += chunk.length;
        inflatedBytes.set(request, inflated);
        if (inflated <= limit) return callback(null, chunk);
        stop();
        callback(new InflatedTooLarge(`the body inflated from ${coding} is larger than BODY_LIMIT (${limit} bytes)`));
      },
    }),
    { receivedEncodedLength: 0 },
  );
  payload.on('data', (chunk: Buffer) => {
    out.receivedEncodedLength += chunk.length;
  });
  payload.on('error', (err) => out.destroy(err));
  decoder.on('error', (err) => {
    stop();
    out.destroy(new MalformedBody(`the body is not valid ${coding} (Content-Encoding: ${coding}): ${err.message}`));
  });
  payload.pipe(decoder).pipe(out);
  inflatedBytes.set(request, 0);
  return out;
}

export async function decodeBodies(app: FastifyInstance): Promise<void> {
  // Synchronous, and a request without Content-Encoding (nearly all) leaves at the first test.
  app.addHook('preParsing', (request, reply, payload, done) => {
    const header = request.headers['content-encoding'];
    if (header === undefined || !hasBody(request)) return done(null, payload);
    const codings = nonIdentityCodings(header);
    if (codings.length === 0) return done(null, payload);
    const coding = codings[0] as string;
    const decoder = codings.length === 1 ? DECODERS.get(coding) : undefined;
    if (!decoder) {
      reply.header('accept-encoding', ACCEPTED_REQUEST_CODINGS);
      return done(
        new ProblemError(
          'unsupported_content_encoding',
          `Content-Encoding ${JSON.stringify(codings.join(', '))} is not supported: send the body in one of gzip, deflate or br, or uncompressed (identity)`,
        ),
      );
    }
    const limit = request.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit ?? 1_048_576;
    // Fastify refuses a declared length over the limit itself, before reading: nothing to decode.
    if (Number(request.headers['content-length']) > limit) return done(null, payload);
    done(null, inflate(request, payload, coding, decoder(), limit));
  });
}

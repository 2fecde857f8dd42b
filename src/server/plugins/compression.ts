/**
 * Responses are compressed (@fastify/compress) when the client's
 * Accept-Encoding allows: br, else gzip; identity otherwise, or when the body is
 * under 1 KiB (the seed request's answer and most problems: compressing them
 * costs more than the bytes saved). Derivative results are mostly numbers
 * written with full round-trip precision, which compress to about 45 % (random
 * values; structured ones far better), so the levels are the fast ones:
 * gzip 1 and brotli 1. Measured on a 2.3 MB Jacobian of random values
 * (`npx tsx bench/compression.ts 330`, medians of three runs of 5 to 9 on a
 * loaded 2-core machine): gzip 1 took 47 to 57 ms for 45.2 %, gzip 6 (zlib's
 * default) 135 to 194 ms for 42.9 %; brotli 1 19 to 43 ms for 43.9 %, brotli 4
 * 155 to 298 ms for 40.4 %, brotli 11 (its default) 9 to 14 s for 38.2 %. On a
 * 21.6 MB 1000×1000 one, gzip 1 took 389 ms and brotli 1 357 ms. A compute
 * service answers in milliseconds: the few percent the slow levels save are not worth a response
 * waiting several times its compute time. Neither is configurable: a client
 * that wants identity says so in Accept-Encoding (or sends x-no-compression),
 * and the threshold only trades a few hundred bytes.
 *
 * Bodies up to @fastify/compress's syncThreshold (4 to 64 KiB, by cores) are
 * compressed in one call; larger ones stream through zlib's thread pool, so a
 * large result never holds the event loop. Every response says
 * `Vary: Accept-Encoding`, compressed or not, so a cache never serves a
 * compressed body to a client that did not ask for one. Headers set before
 * the body (Server-Timing, x-request-id, the security headers) are kept; a
 * compressed body's Content-Length is the compressed size (or absent:
 * chunked, when streamed). The worker pool's answers (a JSON string) and
 * problem+json bodies are compressed like any other; /metrics too (Prometheus
 * asks for gzip). Request bodies are decoded by content-encoding.ts, not here.
 */
import { constants } from 'node:zlib';
import compress from '@fastify/compress';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { OpenAPIV3_1 } from 'openapi-types';

export const COMPRESSION = {
  encodings: ['br', 'gzip'],
  threshold: 1024,
  gzipLevel: 1,
  brotliQuality: 1,
} as const;

const ACCEPT_ENCODING = /accept-encoding/i;

/**
 * Adds accept-encoding to the reply's Vary. app.ts calls it from its one root onSend
 * hook, which runs before the plugin's own onSend (added per route): so the
 * plugin's check finds the token and adds nothing.
 */
export function varyOnAcceptEncoding(reply: FastifyReply): void {
  const vary = reply.getHeader('vary');
  if (vary === undefined) reply.header('vary', 'accept-encoding');
  else if (!ACCEPT_ENCODING.test(String(vary))) reply.header('vary', `${String(vary)}, accept-encoding`);
}

/** Registers @fastify/compress; the Vary header is app.ts's onSend hook's (varyOnAcceptEncoding). */
export async function responseCompression(app: FastifyInstance): Promise<void> {
  await app.register(compress, {
    global: true,
    globalDecompression: false, // content-encoding.ts decodes request bodies, within BODY_LIMIT
    encodings: [...COMPRESSION.encodings],
    threshold: COMPRESSION.threshold,
    zlibOptions: { level: COMPRESSION.gzipLevel },
    brotliOptions: {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: COMPRESSION.brotliQuality,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      },
    },
  });
}

/** The request and response Content-Encoding of every compute operation, in the OpenAPI document. */
export function withContentEncodings(doc: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    const post = item?.post;
    if (!path.startsWith('/v1/') || !post) continue;
    post.parameters = [
      ...(post.parameters ?? []),
      {
        name: 'Content-Encoding',
        in: 'header',
        required: false,
        description:
          'The body may be sent compressed: gzip (x-gzip), deflate (zlib) or br. BODY_LIMIT bounds it both as sent and inflated (413); ' +
          'a body not valid in its coding is a 400 malformed-body; any other coding, or more than one, is a 415.',
        schema: { type: 'string', enum: ['gzip', 'x-gzip', 'deflate', 'br', 'identity'] },
      },
    ];
    const ok = post.responses?.['200'] as OpenAPIV3_1.ResponseObject | undefined;
    if (ok)
      ok.headers = {
        ...(ok.headers ?? {}),
        'Content-Encoding': {
          description: `br or gzip when Accept-Encoding allows and the body is at least ${COMPRESSION.threshold} bytes (any response, problems included); absent otherwise`,
          schema: { type: 'string', enum: ['br', 'gzip'] },
        },
        Vary: { description: 'Accept-Encoding, on every response', schema: { type: 'string' } },
      };
  }
  return doc;
}

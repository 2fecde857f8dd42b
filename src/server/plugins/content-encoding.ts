/**
 * Request bodies are accepted in the identity encoding only (until gzip is
 * supported). Fastify does not decode Content-Encoding: a gzip body reached the
 * JSON parser and came back as a misleading 400 "not valid JSON". A preParsing
 * hook (after authentication and rate limits, before any byte of the body is
 * read or parsed, and before the body-size and media-type checks) answers 415
 * urn:derivd:problem:unsupported-content-encoding instead, with
 * `Accept-Encoding: identity` as RFC 9110 §15.5.16 suggests.
 *
 * Only requests that carry a body are checked: the header describes the body,
 * and a probe's GET must never fail over it.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProblemError } from '../problem.js';

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

export async function identityBodiesOnly(app: FastifyInstance): Promise<void> {
  app.addHook('preParsing', async (request, reply, payload) => {
    if (!hasBody(request)) return payload;
    const codings = nonIdentityCodings(request.headers['content-encoding']);
    if (codings.length === 0) return payload;
    reply.header('accept-encoding', 'identity');
    throw new ProblemError(
      'unsupported_content_encoding',
      `Content-Encoding ${JSON.stringify(codings.join(', '))} is not supported: send the body uncompressed (identity, no Content-Encoding header)`,
    );
  });
}

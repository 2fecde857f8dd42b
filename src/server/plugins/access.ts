/**
 * Bearer tokens: API keys on /v1/* and the metrics token on /metrics.
 *
 * derivd keeps only SHA-256 digests of what it accepts (API_KEYS is a list of
 * digests, so the configuration holds no usable key). A presented token is
 * hashed and compared with every accepted digest with crypto.timingSafeEqual:
 * all comparisons run, on 32-byte buffers, so the time taken tells neither
 * whether nor which digest matched, nor how long the token was.
 *
 * @fastify/bearer-auth parses the header and calls our `auth`; it runs with
 * addHook false because its own hook answers `{ error }` JSON with no request
 * id and no WWW-Authenticate. Our hook turns its failures into the 401
 * problem (urn:derivd:problem:unauthorized) with the RFC 6750 challenge.
 * Tokens are never logged: bearer-auth logs only its fixed messages (at debug).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import bearerAuth from '@fastify/bearer-auth';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProblemError } from '../problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Hex SHA-256 of the accepted API key (rate limits are counted per key). */
    apiKeyDigest?: string;
  }
}

/** SHA-256 of a presented token: always 32 bytes, whatever was sent. */
export const sha256 = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/**
 * Whether `digest` equals one of `accepted`. Every entry is compared (the
 * comparison is evaluated before the OR, so nothing short-circuits).
 */
export function matchesAny(digest: Buffer, accepted: readonly Buffer[]): boolean {
  let found = false;
  for (const a of accepted) found = timingSafeEqual(a, digest) || found;
  return found;
}

/** The challenge of RFC 6750 §3: no error code when no token came, invalid_token for a wrong one. */
export function challenge(wrongToken: boolean): string {
  return wrongToken ? 'Bearer realm="derivd", error="invalid_token", error_description="the token is not valid"' : 'Bearer realm="derivd"';
}

const BEARER_AUTH_FAILURES = new Set(['FST_BEARER_AUTH_MISSING_AUTHORIZATION_HEADER', 'FST_BEARER_AUTH_INVALID_AUTHORIZATION_HEADER']);

export interface BearerOptions {
  /** SHA-256 digests of the accepted tokens. */
  accepted: readonly Buffer[];
  /** The 401 problem's detail when no bearer token came, and when a wrong one did. */
  detail: { missing: string; wrong: string };
  onAccepted?: (request: FastifyRequest, digest: Buffer) => void;
}

/** Every route of `scope` (an encapsulated instance) needs one of the accepted bearer tokens. */
export async function requireBearer(scope: FastifyInstance, { accepted, detail, onAccepted }: BearerOptions): Promise<void> {
  const presented = new WeakSet<FastifyRequest>(); // requests that sent a (non-empty) bearer token
  await scope.register(bearerAuth, {
    keys: [],
    addHook: false,
    specCompliance: 'rfc6749', // the scheme name is case-insensitive (RFC 9110 §11.1): "bearer" is accepted too
    verifyErrorLogLevel: 'debug', // a refused request is routine; its 401 is in the request log line
    auth: (token, request) => {
      if (token === '') return false;
      presented.add(request);
      const digest = sha256(token);
      const ok = matchesAny(digest, accepted);
      if (ok) onAccepted?.(request, digest);
      return ok;
    },
  });
  const verify = scope.verifyBearerAuth;
  if (!verify) throw new Error('@fastify/bearer-auth did not decorate verifyBearerAuth');
  scope.addHook('onRequest', (request, reply, done) => {
    verify(request, reply, (err) => {
      if (!err) return done();
      if (!BEARER_AUTH_FAILURES.has((err as { code?: string }).code ?? '')) return done(err); // not a refusal: a masked 500
      const wrong = presented.has(request);
      reply.header('www-authenticate', challenge(wrong));
      done(new ProblemError('unauthorized', wrong ? detail.wrong : detail.missing));
    });
  });
}

/** API_KEYS: every route of `scope` needs a key whose digest is listed; off when the list is empty. */
export async function apiKeys(scope: FastifyInstance, digests: readonly string[]): Promise<void> {
  if (digests.length === 0) return;
  await requireBearer(scope, {
    accepted: digests.map((d) => Buffer.from(d, 'hex')),
    detail: { missing: 'this route needs an API key: send it as Authorization: Bearer <key>', wrong: 'the API key is not valid' },
    onAccepted: (request, digest) => {
      request.apiKeyDigest = digest.toString('hex');
    },
  });
}

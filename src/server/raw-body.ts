/**
 * Large JSON bodies are not parsed on the event loop. Parsing is the one step of a
 * request that no placement decision could move: Fastify parses a body before any
 * handler sees it, and a 12 MB body took the event loop 0.9 s to parse (and more to
 * validate and copy to a worker). With a worker pool, a body whose parse and
 * validation the cost model prices above INLINE_MAX_COST_MS stays text (RawJson)
 * and goes to a worker as it is, which parses it; smaller bodies are parsed at once
 * with Fastify's own parser (same errors, same prototype-poisoning policy).
 */
import type { FastifyInstance } from 'fastify';
import { bodyMs, DerivdError } from '../api/index.js';
import { MalformedBody } from './problem.js';

/** A request body kept as its JSON text, for a worker to parse. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Installs the JSON parser: bodies priced above `inlineMaxCostMs` are kept as RawJson. */
export function largeBodiesAsText(app: FastifyInstance, inlineMaxCostMs: number): void {
  const parse = app.getDefaultJsonParser('ignore', 'ignore'); // as app.ts configures onProtoPoisoning
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (bodyMs(text.length) > inlineMaxCostMs) done(null, new RawJson(text));
    else parse(request, text, done);
  });
}

/**
 * The body of a route that checks it on the event loop, once (registering a graph,
 * explain): one kept as text because it is large is parsed here; anything but a JSON
 * object is a 400 whose message says what was `expected`.
 */
export function objectBody(body: unknown, expected: string): Record<string, unknown> {
  let value = body;
  if (value instanceof RawJson) {
    try {
      value = JSON.parse(value.text);
    } catch (err) {
      throw new MalformedBody((err as Error).message);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new DerivdError('invalid_request', [{ path: '', message: expected }]);
  return value as Record<string, unknown>;
}

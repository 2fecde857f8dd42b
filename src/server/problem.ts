/**
 * Every error leaves as application/problem+json (RFC 9457), never as HTML or a
 * stack trace. One catalogue maps what went wrong to a status, a type URI and a
 * title; the handler maps derivd's errors, Fastify's own (bad JSON, media type,
 * body size) and anything unexpected (a masked 500) onto it.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { EstimatedOverBudget } from './placement.js';
import { ComputeBudgetExceeded, ComputeCancelled } from './pool.js';
import { Overloaded, ShuttingDown, WorkerOutOfMemory } from './shed.js';
import { DerivdError, type ErrorKind, type Issue } from '../api/index.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: Issue[];
}

interface Entry {
  status: number;
  type: string;
  title: string;
}

export const PROBLEMS = {
  invalid_request: { status: 400, type: 'urn:derivd:problem:invalid-request', title: 'The request does not match the schema' },
  malformed_body: { status: 400, type: 'urn:derivd:problem:malformed-body', title: 'The body is not valid JSON' },
  invalid_graph: { status: 422, type: 'urn:derivd:problem:invalid-graph', title: 'The graph or the call is not valid' },
  limit_exceeded: { status: 413, type: 'urn:derivd:problem:limit-exceeded', title: 'The request is over a configured limit' },
  unknown_graph: { status: 404, type: 'urn:derivd:problem:unknown-graph', title: 'No graph is stored under this id' },
  unsupported_media_type: { status: 415, type: 'urn:derivd:problem:unsupported-media-type', title: 'Only application/json is accepted' },
  compute_budget_exceeded: {
    status: 504,
    type: 'urn:derivd:problem:compute-budget-exceeded',
    title: 'The computation exceeded the compute budget',
  },
  // nginx's "client closed request": only logs and metrics ever see it.
  client_closed: {
    status: 499,
    type: 'urn:derivd:problem:client-closed-request',
    title: 'The client closed the connection before the result',
  },
  overloaded: { status: 503, type: 'urn:derivd:problem:overloaded', title: 'The service is saturated; retry after Retry-After seconds' },
  shutting_down: {
    status: 503,
    type: 'urn:derivd:problem:shutting-down',
    title: 'The service is shutting down; retry on another instance',
  },
  estimated_over_budget: {
    status: 422,
    type: 'urn:derivd:problem:estimated-over-budget',
    title: 'The call is estimated to take longer than the compute budget',
  },
  worker_out_of_memory: {
    status: 503,
    type: 'urn:derivd:problem:worker-out-of-memory',
    title: 'The worker computing the request ran out of memory',
  },
  request_timeout: { status: 408, type: 'about:blank', title: 'Request Timeout' },
  not_found: { status: 404, type: 'about:blank', title: 'Not Found' },
  method_not_allowed: { status: 405, type: 'about:blank', title: 'Method Not Allowed' },
  unauthorized: { status: 401, type: 'urn:derivd:problem:unauthorized', title: 'A valid bearer token is required' },
  rate_limited: { status: 429, type: 'urn:derivd:problem:rate-limited', title: 'Too many requests' },
  unsupported_content_encoding: {
    status: 415,
    type: 'urn:derivd:problem:unsupported-content-encoding',
    title: 'The content encoding of the body is not supported',
  },
  internal: { status: 500, type: 'about:blank', title: 'Internal Server Error' },
} satisfies Record<string, Entry>;

/** Every problem `type` derivd answers with: the Problem schema's enum (so the catalogue is its one source). */
export const PROBLEM_TYPES = [...new Set(Object.values(PROBLEMS).map((p) => p.type))] as [string, ...string[]];

/**
 * A problem of the catalogue raised before a handler runs (401, 415, 429 from
 * hooks): thrown into Fastify's error path so it is answered and logged like
 * every other error. Headers it needs (WWW-Authenticate, Retry-After) are set
 * on the reply before it is thrown.
 */
export class ProblemError extends Error {
  constructor(
    readonly entry: keyof typeof PROBLEMS,
    detail: string,
  ) {
    super(detail);
  }
}

/** A body a worker found not to be JSON (a large body is parsed there: raw-body.ts); `message` is JSON.parse's. */
export class MalformedBody extends Error {}

/** A compressed body over BODY_LIMIT once inflated (plugins/content-encoding.ts): a 413 like Fastify's body-too-large. */
export class InflatedTooLarge extends Error {
  readonly statusCode = 413;
}

const KIND_TO_PROBLEM: Record<ErrorKind, keyof typeof PROBLEMS> = {
  invalid_request: 'invalid_request',
  invalid_graph: 'invalid_graph',
  limit_exceeded: 'limit_exceeded',
  unknown_graph: 'unknown_graph',
};

function problem(entry: Entry, detail: string, request: FastifyRequest, errors?: Issue[]): Problem {
  return { type: entry.type, title: entry.title, status: entry.status, detail, instance: request.id, ...(errors ? { errors } : {}) };
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type('application/problem+json').send(p);
}

/** Maps any error thrown while handling a request to a problem. */
export function toProblem(err: unknown, request: FastifyRequest): Problem {
  if (err instanceof DerivdError) {
    const n = err.issues.length;
    return problem(PROBLEMS[KIND_TO_PROBLEM[err.kind]], `${n} issue${n === 1 ? '' : 's'}: see errors`, request, err.issues);
  }
  if (err instanceof ComputeBudgetExceeded) return problem(PROBLEMS.compute_budget_exceeded, err.message, request);
  if (err instanceof ComputeCancelled) return problem(PROBLEMS.client_closed, err.message, request);
  if (err instanceof ProblemError) return problem(PROBLEMS[err.entry], err.message, request);
  if (err instanceof EstimatedOverBudget) return problem(PROBLEMS.estimated_over_budget, err.message, request, err.issues);
  if (err instanceof Overloaded) return problem(PROBLEMS.overloaded, err.message, request);
  if (err instanceof ShuttingDown) return problem(PROBLEMS.shutting_down, err.message, request);
  if (err instanceof WorkerOutOfMemory) return problem(PROBLEMS.worker_out_of_memory, err.message, request);
  const e = err as FastifyError;
  // Errors about the body as a whole: like every 400/413/422, they carry errors[], at the body's root (path "").
  const whole = (entry: Entry, detail: string): Problem => problem(entry, detail, request, [{ path: '', message: detail }]);
  if (err instanceof MalformedBody) return whole(PROBLEMS.malformed_body, err.message);
  if (err instanceof InflatedTooLarge) return whole(PROBLEMS.limit_exceeded, err.message);
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problem(
        PROBLEMS.unsupported_media_type,
        `content type ${JSON.stringify(request.headers['content-type'] ?? '')} is not supported; send application/json`,
        request,
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return whole(PROBLEMS.limit_exceeded, `the body is larger than BODY_LIMIT (${request.routeOptions.bodyLimit ?? '?'} bytes)`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return whole(PROBLEMS.malformed_body, 'the body is empty; expected a JSON object');
  }
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    // JSON syntax errors and the other client errors Fastify raises before a handler runs.
    if (e instanceof SyntaxError || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return whole(PROBLEMS.malformed_body, e.message);
    const entry = { ...PROBLEMS.invalid_request, status: e.statusCode };
    return [400, 413, 422].includes(e.statusCode) ? whole(entry, e.message) : problem(entry, e.message, request);
  }
  return problem(PROBLEMS.internal, 'an unexpected error occurred; it has been logged with this request id', request);
}

/**
 * The error contract of issue 8 (spec-issue8.md, "Problem types"), as data and as
 * checks shared by the hostile cases, the load tests and the fuzzer:
 *
 *   PROBLEM                     the problem type URIs the suite expects, by name
 *   problemViolations(r)        what is wrong with a 4xx/5xx answer as a problem: content
 *                               type, JSON body with type/title/status/detail, `errors[]`
 *                               with at least one {path, message} for 400/413/422,
 *                               Retry-After on 503 and 429, a body under 1 MB
 *   expectProblem(r, status, type?)
 *                               asserts the status, the type and no violation; returns the body
 *
 * Works on anything with a status, headers and body text: a Reply from http.ts or a
 * fastify.inject response.
 */
import { expect } from 'vitest';

export const PROBLEM = {
  invalidRequest: 'urn:derivd:problem:invalid-request',
  malformedBody: 'urn:derivd:problem:malformed-body',
  invalidGraph: 'urn:derivd:problem:invalid-graph',
  limitExceeded: 'urn:derivd:problem:limit-exceeded',
  unsupportedMediaType: 'urn:derivd:problem:unsupported-media-type',
  computeBudgetExceeded: 'urn:derivd:problem:compute-budget-exceeded',
  // issue 8 (spec-issue8.md):
  overloaded: 'urn:derivd:problem:overloaded',
  shuttingDown: 'urn:derivd:problem:shutting-down',
  estimatedOverBudget: 'urn:derivd:problem:estimated-over-budget',
  unsupportedContentEncoding: 'urn:derivd:problem:unsupported-content-encoding',
  rateLimited: 'urn:derivd:problem:rate-limited',
  unauthorized: 'urn:derivd:problem:unauthorized',
} as const;

/** "every error body is under 1 MB" (issue 8, "Everything returned counts"). */
export const MAX_ERROR_BODY_BYTES = 1_000_000;

/** Statuses whose problem must carry errors[] with at least one path (spec-issue8.md). */
export const NEEDS_ERRORS = new Set([400, 413, 422]);

export interface AnswerLike {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  /** Body bytes in all (may be more than text holds). */
  bytes: number;
  text: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: { path: string; message: string }[];
}

const header = (a: AnswerLike, name: string): string | undefined => {
  const v = a.headers[name];
  return Array.isArray(v) ? v[0] : v === undefined ? undefined : String(v);
};

/** Everything that keeps `a` (a 4xx or 5xx) from being a proper problem; empty when it is one. */
export function problemViolations(a: AnswerLike): string[] {
  const out: string[] = [];
  const ct = header(a, 'content-type') ?? '';
  if (!/^application\/problem\+json\b/.test(ct)) out.push(`content-type ${JSON.stringify(ct)}, expected application/problem+json`);
  if (a.bytes > MAX_ERROR_BODY_BYTES) out.push(`error body of ${a.bytes} bytes, over ${MAX_ERROR_BODY_BYTES}`);
  if ((a.status === 503 || a.status === 429) && !/^\d+$/.test(header(a, 'retry-after') ?? '')) {
    out.push(`${a.status} without Retry-After in whole seconds (got ${JSON.stringify(header(a, 'retry-after'))})`);
  }
  let p: Partial<ProblemBody>;
  try {
    p = JSON.parse(a.text) as Partial<ProblemBody>;
  } catch {
    out.push(`body is not JSON: ${a.text.slice(0, 120)}`);
    return out;
  }
  if (typeof p !== 'object' || p === null) return [...out, 'body is not an object'];
  if (typeof p.type !== 'string' || p.type === '') out.push('no type');
  if (typeof p.title !== 'string') out.push('no title');
  if (p.status !== a.status) out.push(`body status ${p.status} differs from HTTP status ${a.status}`);
  if (typeof p.detail !== 'string') out.push('no detail');
  if (NEEDS_ERRORS.has(a.status)) {
    if (!Array.isArray(p.errors) || p.errors.length === 0) out.push(`${a.status} without errors[]`);
    // A path is a string from the body root in dot-and-bracket notation; "" is the root itself.
    else if (!p.errors.every((e) => typeof e?.path === 'string' && typeof e?.message === 'string'))
      out.push('errors[] entries without path and message');
  }
  return out;
}

export function fromReply(r: {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: number;
  text(): string;
}): AnswerLike {
  return { status: r.status, headers: r.headers, bytes: r.bytes, text: r.text() };
}

/** Asserts status (and type, when given) and a well-formed problem; returns the parsed body. */
export function expectProblem(a: AnswerLike, status: number, type?: string): ProblemBody {
  expect(a.status, `status (body: ${a.text.slice(0, 300)})`).toBe(status);
  expect(problemViolations(a), 'problem+json violations').toEqual([]);
  const p = JSON.parse(a.text) as ProblemBody;
  if (type !== undefined) expect(p.type).toBe(type);
  return p;
}

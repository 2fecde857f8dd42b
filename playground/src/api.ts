/** POST to the service this page came from; a problem (RFC 9457) becomes an ApiError with its issues. */
export interface Issue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues: Issue[],
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 30_000;

/** The service's API key, when it needs one (API_KEYS): sent as a bearer token, kept out of links. */
let apiKey = '';
export function setApiKey(key: string): void {
  apiKey = key.trim();
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (e) {
    throw new ApiError(0, `the service did not answer (${(e as Error).message})`, []);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError(res.status, `${res.status}: ${text.slice(0, 200)}`, []);
  }
  if (!res.ok) {
    const p = json as { title?: string; detail?: string; errors?: Issue[] };
    const hint = res.status === 401 ? ' This service needs an API key: enter it under "API key".' : '';
    throw new ApiError(
      res.status,
      `${res.status} ${p.title ?? ''}: ${p.detail ?? ''}${hint}`.trim(),
      Array.isArray(p.errors) ? p.errors : [],
    );
  }
  return json as T;
}

export interface Timings {
  validateMs?: number;
  planMs?: number;
  evaluateMs?: number;
  differentiateMs?: number;
  totalMs?: number;
}

export interface ComputeResult {
  values: Record<string, unknown>;
  jacobian?: Record<string, Record<string, unknown>>;
  gradient?: Record<string, unknown>;
  hessian?: Record<string, Record<string, unknown>>;
  mode?: string;
  reason?: string;
  stats: { directions: number; activeNodes: number; inactiveNodes: number; batch?: number };
  timings: Timings;
}

export interface Explanation {
  mode: string;
  reason: string;
  directions: number;
  inputs: { name: string; shape: number[]; active: boolean }[];
  nodes: { id: string; op: string; args?: unknown[]; shape: number[]; active: boolean; from?: string }[];
  outputs: { name: string; shape: number[] }[];
}

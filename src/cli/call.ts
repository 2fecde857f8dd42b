/**
 * Running a call: in this process through the library (with the service's default
 * limits and strict floats, so both answer alike), or over HTTP to a service with
 * `--url`. Either way the answer is the envelope's JSON text and its parsed value;
 * a failure is a CliError: 2 with the problem's title and each `path: message`
 * for bad input (400, 404, 413, 415, 422 or a DerivdError), 1 for the rest.
 */
import { ComputeDeadlineExceeded, DerivdError, operations, type Issue, type Operation, type Options } from '../api/index.js';
import { DEFAULT_CONFIG } from '../server/config.js';
import { CliError, type Output } from './args.js';
import { readCapped } from './read.js';

export interface Answer {
  /** The envelope as JSON text, as the service sends it. */
  text: string;
  value: unknown;
}

/** The library's limits as the service applies them by default. */
export const LIMITS = {
  maxNodes: DEFAULT_CONFIG.maxNodes,
  maxInputs: DEFAULT_CONFIG.maxInputs,
  maxElements: DEFAULT_CONFIG.maxElements,
  maxResponseBytes: DEFAULT_CONFIG.maxResponseBytes,
};

/** The statuses that mean the request itself is wrong: exit 2. */
const BAD_INPUT = new Set([400, 404, 413, 415, 422]);

/** A problem's lines: its title and status, then each issue (or the detail when it has none). */
function problemLines(title: string, status: number | undefined, issues: Issue[] | undefined, detail?: string): string[] {
  const head = status === undefined ? title : `${title} (${status})`;
  if (issues && issues.length > 0) return [head, ...issues.map((i) => `  ${i.path || '(the request)'}: ${i.message}`)];
  return detail ? [head, `  ${detail}`] : [head];
}

/** A library error as the service would report it. */
async function libraryFailure(err: unknown): Promise<CliError> {
  if (err instanceof DerivdError) {
    // problem.ts is loaded only here: it pulls in the worker pool's modules
    const { PROBLEMS } = await import('../server/problem.js');
    const p = PROBLEMS[err.kind];
    return new CliError(2, problemLines(p.title, p.status, err.issues));
  }
  if (err instanceof ComputeDeadlineExceeded) return new CliError(1, [`${err.message}; raise it with --timeout-ms`]);
  return new CliError(1, [`internal error: ${(err as Error)?.stack ?? String(err)}`]);
}

/** A library function of a request: an operation, or explain (which answers at once). */
type LibraryCall = (request: unknown, options: Options) => unknown;

/** Runs the library function `fn` on the request, in this process. */
export async function inProcess(fn: LibraryCall, request: unknown, out: Output): Promise<Answer> {
  try {
    const value = await fn(request, { output: 'json', strictFloats: true, limits: LIMITS, budgetMs: out.timeoutMs });
    return { text: JSON.stringify(value), value };
  } catch (err) {
    throw await libraryFailure(err);
  }
}

export const runOperation = (operation: Operation, request: unknown, out: Output): Promise<Answer> =>
  inProcess(operations[operation] as LibraryCall, request, out);

/** POSTs `body` (JSON text) to `${base}${path}` and reads the answer, at most MAX_RESPONSE_BYTES of it, within the timeout. */
export async function overHttp(
  base: string,
  path: string,
  body: string,
  out: Output,
  env: Record<string, string | undefined>,
): Promise<Answer> {
  const url = `${base}${path}`;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (env.DERIVD_API_KEY) headers.authorization = `Bearer ${env.DERIVD_API_KEY}`;
  const signal = AbortSignal.timeout(out.timeoutMs);
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { method: 'POST', headers, body, signal });
    if (!res.body) text = '';
    else
      text = (await readCapped(res.body as AsyncIterable<Uint8Array>, DEFAULT_CONFIG.maxResponseBytes, `the answer of ${url}`)).toString(
        'utf8',
      );
  } catch (err) {
    if (err instanceof CliError) throw new CliError(1, err.lines);
    if ((err as Error).name === 'TimeoutError') throw new CliError(1, [`no answer from ${url} within ${out.timeoutMs} ms`]);
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    throw new CliError(1, [`cannot reach ${url}: ${cause}`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliError(1, [`${url} answered ${res.status} with something that is not JSON: ${text.slice(0, 200)}`]);
  }
  if (res.ok) return { text, value };
  const p = (value ?? {}) as { title?: string; status?: number; detail?: string; errors?: Issue[] };
  const lines = problemLines(p.title ?? res.statusText, res.status, Array.isArray(p.errors) ? p.errors : undefined, p.detail);
  throw new CliError(BAD_INPUT.has(res.status) ? 2 : 1, lines);
}

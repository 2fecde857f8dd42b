/**
 * The service's errors: RFC 9457 problem details, with derivd's validation issues
 * (each with the JSON path of what is wrong in the request body).
 */

export interface ProblemIssue {
  /** Dot-and-bracket path from the body root, e.g. `graph.nodes[3].args[1]`. */
  path: string;
  message: string;
}

/** The problem type of a call naming a graph the service does not store (it restarted, or evicted it). */
export const UNKNOWN_GRAPH = 'urn:derivd:problem:unknown-graph';

/** An error answer of the service (4xx, 5xx), or a body that is not one of its answers. */
export class DerivdProblem extends Error {
  readonly status: number;
  /** A URI naming the kind of problem, e.g. `urn:derivd:problem:unknown-graph`. */
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  /** The request id, when the service gave one. */
  readonly instance: string | undefined;
  readonly errors: readonly ProblemIssue[];

  constructor(p: {
    status: number;
    type?: string | undefined;
    title?: string | undefined;
    detail?: string | undefined;
    instance?: string | undefined;
    errors?: ProblemIssue[] | undefined;
  }) {
    const title = p.title ?? `HTTP ${p.status}`;
    const detail = p.detail ?? '';
    const issues = (p.errors ?? []).map((e) => `\n  ${e.path === '' ? '(body)' : e.path}: ${e.message}`).join('');
    super(`${p.status} ${title}${detail === '' ? '' : `: ${detail}`}${issues}`);
    this.name = 'DerivdProblem';
    this.status = p.status;
    this.type = p.type ?? 'about:blank';
    this.title = title;
    this.detail = detail;
    this.instance = p.instance;
    this.errors = p.errors ?? [];
  }

  /** The problem of an error response: its problem+json body, or the status and text of any other body. */
  static async fromResponse(res: Response): Promise<DerivdProblem> {
    const text = await res.text();
    try {
      const body = JSON.parse(text) as Record<string, unknown>;
      if (typeof body === 'object' && body !== null && typeof body.title === 'string') {
        const errors = Array.isArray(body.errors)
          ? (body.errors as unknown[]).filter(
              (e): e is ProblemIssue =>
                typeof e === 'object' &&
                e !== null &&
                typeof (e as ProblemIssue).path === 'string' &&
                typeof (e as ProblemIssue).message === 'string',
            )
          : [];
        return new DerivdProblem({
          status: res.status,
          type: typeof body.type === 'string' ? body.type : undefined,
          title: body.title,
          detail: typeof body.detail === 'string' ? body.detail : undefined,
          instance: typeof body.instance === 'string' ? body.instance : undefined,
          errors,
        });
      }
    } catch {
      // not JSON: reported with its text below
    }
    return new DerivdProblem({ status: res.status, title: res.statusText || `HTTP ${res.status}`, detail: text.slice(0, 500) });
  }
}

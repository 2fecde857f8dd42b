/**
 * Every way a request can be wrong, as data: an error kind (which the service maps
 * to an HTTP status) and all independent issues, each with a dot-and-bracket path
 * from the request root (`graph.nodes[3].args[1]`, `args.d`, `constant[0]`).
 */
export type ErrorKind =
  /** Does not match the schema: wrong types, unknown op or attribute (HTTP 400). */
  | 'invalid_request'
  /** Well-formed, but not a valid graph or call: cycles, shapes, references (HTTP 422). */
  | 'invalid_graph'
  /** Over a configured limit (HTTP 413). */
  | 'limit_exceeded'
  /** `graphId` names no stored graph (HTTP 404). */
  | 'unknown_graph';

export interface Issue {
  path: string;
  message: string;
}

/**
 * Most issues an error lists; the rest are counted in one last issue. A request can
 * be wrong in millions of places (a million unknown argument keys): its error stays
 * small (under 1 MB as JSON) and cheap to build.
 */
export const MAX_ISSUES = 100;

export class DerivdError extends Error {
  readonly issues: Issue[];

  /**
   * `unlisted`: issues found beyond those given (an IssueList counts them), the first
   * of them at `unlistedPath`.
   */
  constructor(
    readonly kind: ErrorKind,
    issues: readonly Issue[],
    unlisted = 0,
    unlistedPath?: string,
  ) {
    // At most MAX_ISSUES + 1 entries: a list already cut (with its count as the last entry,
    // as a worker thread sends it back) is kept as it is.
    const listed = issues.length <= MAX_ISSUES + 1 && unlisted === 0 ? [...issues] : issues.slice(0, MAX_ISSUES);
    const more = unlisted + issues.length - listed.length;
    if (more > 0) {
      const at = issues[MAX_ISSUES]?.path ?? unlistedPath ?? listed[listed.length - 1]?.path ?? '';
      listed.push({ path: at, message: `and ${more} more issue${more === 1 ? '' : 's'} (only the first ${MAX_ISSUES} are listed)` });
    }
    super(listed.map((i) => `${i.path}: ${i.message}`).join('; '));
    this.name = 'DerivdError';
    this.issues = listed;
  }
}

/**
 * Issues collected up to MAX_ISSUES; past that they are only counted, so checking
 * a request with a million faults costs a million counts, not a million messages.
 * `add` takes a function so that an issue past the cap builds no message.
 */
export class IssueList {
  readonly items: Issue[] = [];
  unlisted = 0;
  /** Where the first issue past the cap was: the summary issue points there. */
  unlistedPath?: string;

  get length(): number {
    return this.items.length + this.unlisted;
  }

  get full(): boolean {
    return this.items.length >= MAX_ISSUES;
  }

  add(issue: Issue | (() => Issue)): void {
    if (!this.full) this.items.push(typeof issue === 'function' ? issue() : issue);
    else if (this.unlisted++ === 0) this.unlistedPath = (typeof issue === 'function' ? issue() : issue).path;
  }

  /** Appends another list (its counted issues too). */
  addAll(issues: readonly Issue[] | IssueList): void {
    const list = Array.isArray(issues) ? { items: issues, unlisted: 0, unlistedPath: undefined } : (issues as IssueList);
    for (const i of list.items) this.add(i);
    if (list.unlisted > 0 && this.unlisted === 0) this.unlistedPath ??= list.unlistedPath;
    this.unlisted += list.unlisted;
  }

  error(kind: ErrorKind): DerivdError {
    return new DerivdError(kind, this.items, this.unlisted, this.unlistedPath);
  }
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** ['graph', 'nodes', 3, 'args', 1] -> graph.nodes[3].args[1]; odd keys are quoted: args["a b"]. */
export function formatPath(parts: readonly PropertyKey[]): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (typeof p === 'string' && IDENT.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}

/** Appends a key to a path string with the same rules as formatPath. */
export function childPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return IDENT.test(key) ? (base === '' ? key : `${base}.${key}`) : `${base}[${JSON.stringify(key)}]`;
}

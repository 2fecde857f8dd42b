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
  | 'limit_exceeded';

export interface Issue {
  path: string;
  message: string;
}

export class DerivdError extends Error {
  constructor(readonly kind: ErrorKind, readonly issues: Issue[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('; '));
    this.name = 'DerivdError';
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

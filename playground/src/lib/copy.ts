/**
 * "Copy as": the page's request for curl, the TypeScript client (clients/ts) and
 * the Python client (clients/python), each a complete program that prints the
 * answer. The graph goes as its wire form (formulas in `define`), which both
 * clients accept as is.
 */
import type { Operation, Request } from './state.js';

/** A shell word in single quotes ('…'\''…' for a quote inside). */
export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function asCurl(base: string, operation: Operation, request: Request): string {
  return `curl -s ${shellQuote(`${base}/v1/${operation}`)} -H 'content-type: application/json' -d ${shellQuote(JSON.stringify(request))}`;
}

export function asTypeScript(base: string, operation: Operation, request: Request): string {
  const { graph, ...rest } = request;
  return [
    "import { Derivd } from 'derivd-client';",
    '',
    `const graph = ${JSON.stringify(graph, null, 2)};`,
    '',
    `const derivd = new Derivd({ url: ${JSON.stringify(base)} });`,
    `const res = await derivd.${operation}({ graph, ...${JSON.stringify(rest)} });`,
    'console.log(JSON.stringify(res));',
    '',
  ].join('\n');
}

/** JSON is Python too, once true/false/null are spelt Python's way (outside strings). */
function pyLiteral(v: unknown): string {
  return JSON.stringify(v, null, 2).replace(/("(?:[^"\\]|\\.)*")|\btrue\b|\bfalse\b|\bnull\b/g, (m, str) =>
    str ? str : m === 'true' ? 'True' : m === 'false' ? 'False' : 'None',
  );
}

export function asPython(base: string, operation: Operation, request: Request): string {
  const { graph, args, ...rest } = request;
  const kwargs = Object.entries(rest).map(([k, v]) => `, ${k}=${pyLiteral(v)}`);
  return [
    'import json',
    '',
    'import derivd',
    '',
    `graph = ${pyLiteral(graph)}`,
    `args = ${pyLiteral(args)}`,
    '',
    `client = derivd.Derivd(${JSON.stringify(base)})`,
    `res = client.${operation}(graph, args=args${kwargs.join('')})`,
    'print(json.dumps(res.to_dict(), default=lambda a: a.tolist()))',
    '',
  ].join('\n');
}

/**
 * `derivd eval`: a formula and the point it is taken at, as a request on a graph
 * written with `define` (docs/graph-format.md). Inputs and their shapes come from
 * the --at values; --wrt names the active ones, the rest are constant.
 */
import { inferShape, type Operation } from '../api/index.js';
import { type Command, usageError } from './args.js';

type EvalCommand = Extract<Command, { kind: 'eval' }>;
type Nested = number | Nested[];

/** An object keyed by names, `__proto__` an own key like any other (names are data). */
function byName<T>(entries: [string, T][]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

/**
 * A value as given on the command line: 0.5 (a scalar), 1,2,3 (a vector) or a
 * nested JSON array ([[1,2],[3,4]]). Whether a nested array is rectangular is the
 * library's check (it names the argument).
 */
export function parseValue(text: string, where: string): Nested {
  if (text.startsWith('[')) {
    try {
      return JSON.parse(text) as Nested;
    } catch (err) {
      throw usageError(`${where}: not a JSON array: ${(err as Error).message}`, 'eval');
    }
  }
  const parts = text.split(',').map((s) => s.trim());
  const numbers = parts.map((s) => (s === '' ? Number.NaN : Number(s)));
  const bad = numbers.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw usageError(`${where}: expected a number or comma-separated numbers, found ${JSON.stringify(parts[bad])}`, 'eval');
  return numbers.length === 1 ? numbers[0] : numbers;
}

/** Which request field an operation's extra vector goes in, and what it is keyed by. */
const VECTOR_FIELD: Partial<Record<Operation, 'tangents' | 'cotangents' | 'vector'>> = {
  jvp: 'tangents',
  vjp: 'cotangents',
  hvp: 'vector',
};

/** The request `derivd eval` sends: its graph defines the output f from the formula. */
export function evalRequest(cmd: EvalCommand): Record<string, unknown> {
  const seen = new Set<string>();
  for (const [name] of cmd.at) {
    if (seen.has(name)) throw usageError(`--at: ${name} is given twice`, 'eval');
    seen.add(name);
  }
  let out = 'f';
  while (seen.has(out)) out += '_';
  const args = cmd.at.map(([name, text]): [string, Nested] => [name, parseValue(text, `--at ${name}`)]);
  for (const name of cmd.wrt ?? [])
    if (!seen.has(name)) throw usageError(`--wrt: ${name} is not an input (give it a value with --at ${name}=...)`, 'eval');
  const constant = cmd.wrt ? args.map(([name]) => name).filter((n) => !cmd.wrt?.includes(n)) : [];

  const field = VECTOR_FIELD[cmd.operation];
  if (!field && cmd.vector.length > 0) throw usageError(`--vector: ${cmd.operation} takes none (jvp, vjp and hvp do)`, 'eval');
  if (field && cmd.vector.length === 0) {
    const keyed = field === 'cotangents' ? `the output ${out}` : 'each active input';
    throw usageError(`${cmd.operation} needs --vector NAME=VALUE for ${keyed}`, 'eval');
  }
  const vector = cmd.vector.map(([name, text]): [string, Nested] => [name, parseValue(text, `--vector ${name}`)]);

  return {
    graph: {
      inputs: args.map(([name, v]) => ({ name, shape: inferShape(v) })),
      define: byName([[out, cmd.formula]]),
      outputs: [out],
    },
    args: byName(args),
    ...(constant.length ? { constant } : {}),
    ...(cmd.mode === undefined ? {} : { mode: cmd.mode }),
    ...(field ? { [field]: byName(vector) } : {}),
  };
}

/**
 * The page's state, which is everything a shared link carries: the inputs (name,
 * shape, values as typed, constant or not), the formulas as `name = formula`
 * lines, the outputs, the operation and the f/f′ sweep. `toRequest` turns it
 * into the body of POST /v1/<operation>.
 */
import { ArgError, parseArg } from './args.js';
import type { Wire } from './tensor.js';

export const OPERATIONS = ['jacobian', 'gradient', 'hessian', 'evaluate'] as const;
export type Operation = (typeof OPERATIONS)[number];
export const MODES = ['auto', 'forward', 'reverse', 'fd'] as const;
export type Mode = (typeof MODES)[number];

export interface InputState {
  name: string;
  shape: number[];
  /** As typed: JSON, or a generator (args.ts). */
  values: string;
  constant: boolean;
}

export interface SweepState {
  /** A scalar active input, swept over [from, to] … */
  input: string;
  /** … and the output plotted, with its derivative with respect to that input; its element `index` when it is not a scalar. */
  output: string;
  index: number;
  from: number;
  to: number;
  points: number;
}

export interface PlaygroundState {
  inputs: InputState[];
  /** One `name = formula` per line; blank lines and lines starting with # are ignored. */
  formulas: string;
  outputs: string[];
  operation: Operation;
  mode: Mode;
  sweep?: SweepState;
}

export interface Definitions {
  define: Record<string, string>;
  /** The 0-based line of each definition: where its errors are shown. */
  lineOf: Record<string, number>;
}

export class StateError extends Error {
  constructor(
    /** Where in the page: `formulas` with a line, or `inputs.NAME`. */
    readonly where: { line?: number; input?: string },
    message: string,
  ) {
    super(message);
  }
}

const NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** The `name = formula` lines as the graph's `define`. */
export function parseDefinitions(text: string): Definitions {
  const define: Record<string, string> = {};
  const lineOf: Record<string, number> = {};
  text.split('\n').forEach((raw, line) => {
    const s = raw.trim();
    if (s === '' || s.startsWith('#')) return;
    const eq = s.indexOf('=');
    const name = eq < 0 ? '' : s.slice(0, eq).trim();
    if (eq < 0 || !NAME.test(name)) throw new StateError({ line }, 'expected "name = formula"');
    if (Object.hasOwn(define, name)) throw new StateError({ line }, `"${name}" is defined twice`);
    define[name] = s.slice(eq + 1).trim();
    lineOf[name] = line;
  });
  return { define, lineOf };
}

export interface Request {
  graph: { inputs: { name: string; shape: number[] }[]; define: Record<string, string>; outputs: string[] };
  args: Record<string, Wire>;
  constant?: string[];
  mode?: Mode;
}

/** The request body for the state's operation (mode left out when auto, constant when empty). */
export function toRequest(state: PlaygroundState): Request {
  const { define } = parseDefinitions(state.formulas);
  const args: Record<string, Wire> = {};
  for (const input of state.inputs) {
    try {
      args[input.name] = parseArg(input.values, input.shape);
    } catch (e) {
      if (e instanceof ArgError) throw new StateError({ input: input.name }, e.message);
      throw e;
    }
  }
  const constant = state.inputs.filter((i) => i.constant).map((i) => i.name);
  return {
    graph: { inputs: state.inputs.map(({ name, shape }) => ({ name, shape })), define, outputs: state.outputs },
    args,
    ...(constant.length > 0 ? { constant } : {}),
    ...(state.mode !== 'auto' ? { mode: state.mode } : {}),
  };
}

/**
 * Where a problem's issue belongs on the page: `graph.define.NAME` under that
 * formula's line, `args.NAME…` or `graph.inputs[i]…` under that input, anything
 * else under the whole form.
 */
export function placeIssue(path: string, state: PlaygroundState, defs: Definitions): { line?: number; input?: string } {
  const define = /^graph\.define\.([A-Za-z_$][A-Za-z0-9_$]*)/.exec(path);
  if (define && Object.hasOwn(defs.lineOf, define[1])) return { line: defs.lineOf[define[1]] };
  const arg = /^(?:args|constant|tangents|vector)\.([A-Za-z_$][A-Za-z0-9_$]*)/.exec(path);
  if (arg && state.inputs.some((i) => i.name === arg[1])) return { input: arg[1] };
  const input = /^graph\.inputs\[(\d+)\]/.exec(path);
  if (input && state.inputs[Number(input[1])]) return { input: state.inputs[Number(input[1])].name };
  return {};
}

/** The sweep's batched request: the swept input takes `points` values along a leading axis, the others stay as they are. */
export function sweepRequest(state: PlaygroundState, sweep: SweepState, xs: readonly number[]): Request & { batched: string[] } {
  const req = toRequest({ ...state, operation: 'jacobian', mode: 'auto' });
  const constant = state.inputs.filter((i) => i.constant || i.name !== sweep.input).map((i) => i.name);
  return {
    graph: { ...req.graph, outputs: [sweep.output] },
    args: { ...req.args, [sweep.input]: [...xs] },
    constant,
    batched: [sweep.input],
  };
}

/** A state read from a link is checked before use: a clear message, not a broken page. */
export function checkState(v: unknown): PlaygroundState {
  const fail = (what: string): never => {
    throw new Error(`the link's state is not valid: ${what}`);
  };
  if (typeof v !== 'object' || v === null) return fail('not an object');
  const s = v as Record<string, unknown>;
  if (!Array.isArray(s.inputs)) return fail('inputs is not a list');
  for (const [i, input] of (s.inputs as unknown[]).entries()) {
    const x = input as Record<string, unknown>;
    if (
      typeof x !== 'object' ||
      x === null ||
      typeof x.name !== 'string' ||
      typeof x.values !== 'string' ||
      typeof x.constant !== 'boolean'
    )
      fail(`inputs[${i}] needs name, values and constant`);
    if (!Array.isArray(x.shape) || !x.shape.every((n) => Number.isInteger(n) && n >= 0)) fail(`inputs[${i}].shape is not a shape`);
  }
  if (typeof s.formulas !== 'string') fail('formulas is not text');
  if (!Array.isArray(s.outputs) || !s.outputs.every((o) => typeof o === 'string')) fail('outputs is not a list of names');
  if (!OPERATIONS.includes(s.operation as Operation)) fail(`operation must be one of ${OPERATIONS.join(', ')}`);
  if (!MODES.includes(s.mode as Mode)) fail(`mode must be one of ${MODES.join(', ')}`);
  if (s.sweep !== undefined) {
    const w = s.sweep as Record<string, unknown>;
    const nums = ['index', 'from', 'to', 'points'].every((k) => typeof w?.[k] === 'number' && Number.isFinite(w[k]));
    if (!nums || typeof w.input !== 'string' || typeof w.output !== 'string') fail('sweep needs input, output, index, from, to, points');
  }
  return v as PlaygroundState;
}

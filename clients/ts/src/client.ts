/**
 * The HTTP client: one method per operation, the request and result typed by the
 * operation, the graph's output names (from the builder) and the argument names.
 *
 * Builder graphs are stored by default: the first call registers the graph
 * (POST /v1/graphs), later calls name it by id (POST /v1/graphs/{id}/<operation>)
 * and send only the arguments; when the service answers that it does not know the
 * id (it restarted, or evicted the graph), the graph is registered again and the
 * call repeated, once.
 */
import { Graph, type WireGraph } from './graph.js';
import type { Shape } from './expr.js';
import { DerivdProblem, UNKNOWN_GRAPH } from './problem.js';
import { decodeTensor, encodeTensor, type Nested, type Packed, type TensorValue } from './tensors.js';

export type Operation = 'evaluate' | 'jacobian' | 'gradient' | 'jvp' | 'vjp' | 'hessian' | 'hvp';
/** How result tensors come back: nested arrays (`json`, the default) or `base64`, which the client decodes to Float64Arrays. */
export type Encoding = 'json' | 'base64';
/** How Jacobian and Hessian blocks come back: dense tensors (default) or their structurally non-zero entries. */
export type Format = 'dense' | 'coo';

export interface DerivdOptions {
  /** The service's base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** The fetch to use (default: the global one); a wrapper can add headers, retries or logging. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Abort every call after this many milliseconds (default: none). */
  timeoutMs?: number;
  /** Use stored graphs (register once, call by id). Default: for builder graphs yes, for wire graphs no. */
  stored?: boolean;
  /** Float64Array arguments of at least this many elements are sent as base64 (default 1024). */
  base64From?: number;
  /** How many registered graphs the client remembers (default 256). */
  maxStoredGraphs?: number;
}

/** A graph: a builder (`graph()`) or the wire form. */
export type GraphLike = Graph<string> | WireGraph;
/** The output names of a graph: typed for a builder whose outputs were named with `output(…)`. */
export type OutputsOf<G> = G extends Graph<infer O> ? ([O] extends [never] ? string : O) : string;
/** The inputs that get derivatives: the arguments' names except the constant ones. */
export type ActiveOf<A, C extends string> = Exclude<keyof A & string, C>;
export type TensorOf<E extends Encoding> = E extends 'base64' ? Packed : Nested;

/** A Jacobian or Hessian block with `format: "coo"`. */
export interface CooBlock<T> {
  /** The dense block's shape. */
  shape: number[];
  /** Each entry's flat index into the output's (first input's) shape. */
  rows: number[];
  /** Each entry's flat index into the input's shape. */
  cols: number[];
  values: T;
}
export type BlockOf<E extends Encoding, F extends Format> = F extends 'coo' ? CooBlock<TensorOf<E>> : TensorOf<E>;

export interface CallOptions {
  /** Aborts the call. */
  signal?: AbortSignal;
  /** Aborts the call after this many milliseconds (overrides the client's). */
  timeoutMs?: number;
  /** Overrides the client's `stored` for this call. */
  stored?: boolean;
}

export type Args = Readonly<Record<string, TensorValue>>;

export interface RequestBase<G extends GraphLike, A extends Args, C extends string, E extends Encoding> extends CallOptions {
  graph: G;
  /** One tensor per graph input. A Float64Array takes the input's declared shape (with a leading axis of points when batched). */
  args: A;
  /** Inputs not differentiated. */
  constant?: readonly C[];
  /** `auto` (default), `forward`, `reverse`, `fd`, or a registered engine. */
  mode?: string;
  /** Also run finite differences and report the error in `check`. */
  check?: boolean;
  /** A subset of the graph's outputs to compute (default: all). */
  outputs?: readonly string[];
  /** Inputs whose arguments carry a leading axis of points (see `batchOf`). */
  batched?: readonly string[];
  encoding?: E;
}
type MapOf = Readonly<Record<string, TensorValue>>;
export type EvaluateRequest<G extends GraphLike, A extends Args, C extends string, E extends Encoding> = RequestBase<G, A, C, E>;
export type GradientRequest<G extends GraphLike, A extends Args, C extends string, E extends Encoding> = RequestBase<G, A, C, E>;
export interface JacobianRequest<G extends GraphLike, A extends Args, C extends string, E extends Encoding, F extends Format>
  extends RequestBase<G, A, C, E> {
  format?: F;
}
export type HessianRequest<G extends GraphLike, A extends Args, C extends string, E extends Encoding, F extends Format> = JacobianRequest<
  G,
  A,
  C,
  E,
  F
>;
export interface JvpRequest<G extends GraphLike, A extends Args, C extends string, E extends Encoding> extends RequestBase<G, A, C, E> {
  /** One tangent per active input. */
  tangents: MapOf;
}
export interface VjpRequest<G extends GraphLike, A extends Args, C extends string, E extends Encoding> extends RequestBase<G, A, C, E> {
  /** One cotangent per requested output. */
  cotangents: MapOf;
}
export interface HvpRequest<G extends GraphLike, A extends Args, C extends string, E extends Encoding> extends RequestBase<G, A, C, E> {
  /** One entry per active input. */
  vector: MapOf;
}

export interface Stats {
  directions: number;
  activeNodes: number;
  inactiveNodes: number;
  cache?: 'hit' | 'miss';
  nonZeros?: number;
  colors?: number;
  batch?: number;
}
export interface Timings {
  validateMs: number;
  planMs: number;
  evaluateMs: number;
  differentiateMs: number;
  totalMs: number;
  checkMs?: number;
}
export interface Result<Out extends string, E extends Encoding> {
  values: Record<Out, TensorOf<E>>;
  /** The engine that ran (absent for evaluate). */
  mode?: string;
  reason?: string;
  stats: Stats;
  timings: Timings;
  check?: { maxAbsError: number; maxRelError: number };
}
export type JacobianResult<Out extends string, In extends string, E extends Encoding, F extends Format> = Result<Out, E> & {
  /** [output][active input]: shape output.shape ++ input.shape. */
  jacobian: Record<Out, Record<In, BlockOf<E, F>>>;
};
export type GradientResult<Out extends string, In extends string, E extends Encoding> = Result<Out, E> & {
  gradient: Record<In, TensorOf<E>>;
};
export type JvpResult<Out extends string, E extends Encoding> = Result<Out, E> & { jvp: Record<Out, TensorOf<E>> };
export type VjpResult<Out extends string, In extends string, E extends Encoding> = Result<Out, E> & { vjp: Record<In, TensorOf<E>> };
export type HessianResult<Out extends string, In extends string, E extends Encoding, F extends Format> = Result<Out, E> & {
  /** [a][b] for every ordered pair of active inputs: shape a.shape ++ b.shape. */
  hessian: Record<In, Record<In, BlockOf<E, F>>>;
};
export type HvpResult<Out extends string, In extends string, E extends Encoding> = Result<Out, E> & { hvp: Record<In, TensorOf<E>> };

/** `map[key]`, or an error naming the key: for results read where `noUncheckedIndexedAccess` is on. */
export function at<T>(map: Readonly<Record<string, T>>, key: string): T {
  if (!Object.hasOwn(map, key))
    throw new Error(`no ${JSON.stringify(key)} in the result: it has ${Object.keys(map).join(', ') || 'nothing'}`);
  return map[key] as T;
}

const TENSOR_MAPS = ['values', 'gradient', 'jvp', 'vjp', 'hvp'] as const;
const BLOCK_GRIDS = ['jacobian', 'hessian'] as const;
const WIRE_FIELDS = ['constant', 'mode', 'check', 'outputs', 'batched', 'encoding', 'format'] as const;
const mapValues = (o: object, f: (v: unknown) => unknown): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));

/** A result body with its tensors decoded: base64 to {shape, data}, wire strings to numbers. */
function decodeResult(body: Record<string, unknown>): unknown {
  const out: Record<string, unknown> = { ...body };
  for (const k of TENSOR_MAPS) if (typeof body[k] === 'object' && body[k] !== null) out[k] = mapValues(body[k] as object, decodeTensor);
  for (const k of BLOCK_GRIDS) {
    if (typeof body[k] === 'object' && body[k] !== null)
      out[k] = mapValues(body[k] as object, (row) => mapValues(row as object, decodeTensor));
  }
  if (typeof body.check === 'object' && body.check !== null) out.check = mapValues(body.check, (v) => Number(v));
  return out;
}

type AnyRequest = RequestBase<GraphLike, Args, string, Encoding> & {
  format?: Format;
  tangents?: MapOf;
  cotangents?: MapOf;
  vector?: MapOf;
};

/** A derivd service. */
export class Derivd {
  readonly url: string;
  readonly #options: DerivdOptions;
  readonly #fetch: (input: string, init: RequestInit) => Promise<Response>;
  /** Registered graphs: the wire graph's JSON text → its id (a promise, so concurrent calls register once). */
  readonly #ids = new Map<string, Promise<string>>();

  constructor(options: DerivdOptions) {
    if (typeof options?.url !== 'string' || options.url === '') throw new Error('new Derivd({ url }): url is the service base URL');
    this.url = options.url.replace(/\/+$/, '');
    this.#options = options;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  evaluate<G extends GraphLike, A extends Args, C extends string = never, E extends Encoding = 'json'>(
    req: EvaluateRequest<G, A, C, E>,
  ): Promise<Result<OutputsOf<G>, E>> {
    return this.#call('evaluate', req) as never;
  }

  jacobian<G extends GraphLike, A extends Args, C extends string = never, E extends Encoding = 'json', F extends Format = 'dense'>(
    req: JacobianRequest<G, A, C, E, F>,
  ): Promise<JacobianResult<OutputsOf<G>, ActiveOf<A, C>, E, F>> {
    return this.#call('jacobian', req) as never;
  }

  /** The gradient of the graph's one scalar output. */
  gradient<G extends GraphLike, A extends Args, C extends string = never, E extends Encoding = 'json'>(
    req: GradientRequest<G, A, C, E>,
  ): Promise<GradientResult<OutputsOf<G>, ActiveOf<A, C>, E>> {
    return this.#call('gradient', req) as never;
  }

  jvp<G extends GraphLike, A extends Args, C extends string = never, E extends Encoding = 'json'>(
    req: JvpRequest<G, A, C, E>,
  ): Promise<JvpResult<OutputsOf<G>, E>> {
    return this.#call('jvp', req) as never;
  }

  vjp<G extends GraphLike, A extends Args, C extends string = never, E extends Encoding = 'json'>(
    req: VjpRequest<G, A, C, E>,
  ): Promise<VjpResult<OutputsOf<G>, ActiveOf<A, C>, E>> {
    return this.#call('vjp', req) as never;
  }

  /** The Hessian of the graph's one scalar output. */
  hessian<G extends GraphLike, A extends Args, C extends string = never, E extends Encoding = 'json', F extends Format = 'dense'>(
    req: HessianRequest<G, A, C, E, F>,
  ): Promise<HessianResult<OutputsOf<G>, ActiveOf<A, C>, E, F>> {
    return this.#call('hessian', req) as never;
  }

  hvp<G extends GraphLike, A extends Args, C extends string = never, E extends Encoding = 'json'>(
    req: HvpRequest<G, A, C, E>,
  ): Promise<HvpResult<OutputsOf<G>, ActiveOf<A, C>, E>> {
    return this.#call('hvp', req) as never;
  }

  /** Stores the graph on the service (once per client) and returns its id. */
  register(graph: GraphLike, options: CallOptions = {}): Promise<string> {
    const wire = graph instanceof Graph ? graph.toJSON() : graph;
    return this.#register(JSON.stringify(wire), options);
  }

  #register(text: string, options: CallOptions): Promise<string> {
    let id = this.#ids.get(text);
    if (id === undefined) {
      id = this.#post('/v1/graphs', `{"graph":${text}}`, options).then((body) => {
        const got = (body as { id?: unknown }).id;
        if (typeof got !== 'string') throw new Error('POST /v1/graphs answered without an id');
        return got;
      });
      // A failed registration (a 422, a network error) is not remembered.
      id.catch(() => {
        if (this.#ids.get(text) === id) this.#ids.delete(text);
      });
      this.#ids.set(text, id);
      const max = this.#options.maxStoredGraphs ?? 256;
      for (const oldest of this.#ids.keys()) {
        if (this.#ids.size <= max) break;
        this.#ids.delete(oldest);
      }
    }
    return id;
  }

  async #call(op: Operation, req: AnyRequest): Promise<unknown> {
    const isBuilder = req.graph instanceof Graph;
    const wire = req.graph instanceof Graph ? req.graph.toJSON() : req.graph;
    const body = this.#body(req, wire);
    const stored = req.stored ?? this.#options.stored ?? isBuilder;
    if (!stored)
      return decodeResult((await this.#post(`/v1/${op}`, JSON.stringify({ graph: wire, ...body }), req)) as Record<string, unknown>);
    const text = JSON.stringify(wire);
    const callText = JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      const pending = this.#register(text, req);
      const id = await pending;
      try {
        return decodeResult((await this.#post(`/v1/graphs/${id}/${op}`, callText, req)) as Record<string, unknown>);
      } catch (err) {
        // The service lost the graph (a restart, an eviction): register it again, once.
        if (attempt > 0 || !(err instanceof DerivdProblem) || err.type !== UNKNOWN_GRAPH) throw err;
        if (this.#ids.get(text) === pending) this.#ids.delete(text);
      }
    }
  }

  /** The request body without the graph: arguments encoded, unknown fields left out. */
  #body(req: AnyRequest, wire: WireGraph): Record<string, unknown> {
    const body: Record<string, unknown> = {};
    const inShapes = new Map<string, Shape>(wire.inputs.map((i) => [i.name, i.shape]));
    const outShapes = req.graph instanceof Graph ? req.graph.outputShapes() : new Map<string, Shape>();
    for (const i of wire.inputs) if (wire.outputs.includes(i.name)) outShapes.set(i.name, i.shape);
    const batched = new Set(req.batched ?? []);
    const base64From = this.#options.base64From ?? 1024;
    const encode = (field: string, map: MapOf, shapes: Map<string, Shape>, canBatch: boolean) =>
      Object.fromEntries(
        Object.entries(map).map(([name, v]) => [
          name,
          encodeTensor(v, { shape: shapes.get(name), batched: canBatch && batched.has(name), base64From, path: `${field}.${name}` }),
        ]),
      );
    if (typeof req.args !== 'object' || req.args === null) throw new Error('args: expected an object keyed by input name');
    body.args = encode('args', req.args, inShapes, true);
    for (const k of WIRE_FIELDS) if (req[k] !== undefined) body[k] = req[k];
    if (req.tangents !== undefined) body.tangents = encode('tangents', req.tangents, inShapes, true);
    if (req.vector !== undefined) body.vector = encode('vector', req.vector, inShapes, true);
    if (req.cotangents !== undefined) body.cotangents = encode('cotangents', req.cotangents, outShapes, false);
    return body;
  }

  async #post(path: string, body: string, options: CallOptions): Promise<unknown> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.#options.token !== undefined) headers.authorization = `Bearer ${this.#options.token}`;
    const signals: AbortSignal[] = [];
    if (options.signal !== undefined) signals.push(options.signal);
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs;
    if (timeoutMs !== undefined) signals.push(AbortSignal.timeout(timeoutMs));
    const signal = signals.length <= 1 ? signals[0] : AbortSignal.any(signals);
    const res = await this.#fetch(`${this.url}${path}`, { method: 'POST', headers, body, ...(signal === undefined ? {} : { signal }) });
    if (!res.ok) throw await DerivdProblem.fromResponse(res);
    const text = await res.text();
    try {
      return JSON.parse(text);
    } catch {
      throw new DerivdProblem({ status: res.status, title: 'Not JSON', detail: `POST ${path} answered ${text.slice(0, 200)}` });
    }
  }
}

/**
 * POST /v1/<operation> for every operation: the body is the library's request,
 * the response its result. Validation happens in the library (one place, every
 * issue with its path); the zod schemas here document the contract.
 *
 * With a worker pool (WORKERS > 0), a request whose validation alone would be
 * heavy (a large graph the plan cache does not have, or a large body: preflightMs
 * in placement.ts) goes to a worker as it is, which validates, plans, applies the
 * cost-based refusal and computes. Every other request is validated and planned
 * inline (`prepare`), and the cost model estimates the call (placement.ts). Calls
 * estimated at most INLINE_MAX_COST_MS run inline, so the event loop never does
 * more than about that much compute for one request and needs no budget for them;
 * the others are handed to a worker checked (api/handoff.ts: the arguments as moved
 * Float64Array buffers, the graph by its plan-cache key, asked for once by a
 * worker that has not cached it), which plans and computes without parsing or
 * validating anything again and returns the same envelope (timings: this thread's
 * validation and planning plus its own) already serialized. `stats.cache` and
 * derivd_plan_cache_total tell the same story: each computed call is counted once,
 * as its response says, whichever thread checked it. A pooled
 * call estimated over COMPUTE_BUDGET_MS is refused at once (422); one past it is
 * stopped with a 504 (cooperatively, or by replacing its worker a grace period
 * later); one whose client goes away is dropped;
 * the pool sheds (503) when its queue is full or the wait too long. Without a
 * pool, requests run inline unestimated.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { OpenAPIV3_1 } from 'openapi-types';
import { z } from 'zod';
import {
  bodyMs,
  CallSchemas,
  checkCounts,
  DerivdError,
  engineNames,
  GRAPH_ID,
  handOff,
  isGraphCached,
  OPERATIONS,
  preflightMs,
  prepare,
  RequestByIdSchemas,
  RequestSchemas,
  respond,
  resultJson,
  type Operation,
  type Result,
  type Timings,
  unknownGraph,
  withStoredGraph,
} from '../../api/index.js';
import type { GraphRepository } from '../graph-repo.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import { EstimatedOverBudget, overBudget } from '../placement.js';
import { ComputeBudgetExceeded, type ComputePool, type PoolRun } from '../pool.js';
import { bodyBytes } from '../plugins/content-encoding.js';
import { MalformedBody } from '../problem.js';
import { RawJson } from '../raw-body.js';
import type { GraphAnswer, GraphQuestion, PoolTask } from '../worker.js';
import { ProblemSchema, ResultSchemas } from '../schemas.js';

const SUMMARIES: Record<Operation, string> = {
  evaluate: 'Values of the outputs',
  jacobian: 'Jacobian of every output with respect to every active input',
  gradient: 'Gradient of the one scalar output',
  jvp: 'Jacobian-vector product (tangents per active input)',
  vjp: 'Vector-Jacobian product (cotangents per output)',
  hessian: 'Hessian of the one scalar output (exact, forward-over-reverse by default)',
  hvp: 'Hessian-vector product',
};

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ProblemSchema } } });
const PROBLEM_RESPONSES = {
  400: problem(
    'The body is not JSON, or not valid in its Content-Encoding (corrupt or truncated gzip, deflate or br), or does not match the schema (unknown op, wrongly typed attribute, ...)',
  ),
  413: problem(
    'The body, the graph or the result asked for is over a configured limit (BODY_LIMIT, MAX_NODES, MAX_INPUTS, MAX_ELEMENTS, MAX_RESPONSE_BYTES); BODY_LIMIT bounds a compressed body both as sent and inflated',
  ),
  415: problem('The content type is not application/json'),
  422: problem(
    'Valid structure, but not a valid graph or call (cycle, shape mismatch, unknown reference, ...), or a call the cost model estimates over COMPUTE_BUDGET_MS (urn:derivd:problem:estimated-over-budget)',
  ),
  503: problem(
    'Not computed: the service is saturated (urn:derivd:problem:overloaded: queue full, queue wait over QUEUE_TIMEOUT_MS, event-loop delay or memory over budget), shutting down (urn:derivd:problem:shutting-down), or the worker ran out of memory (urn:derivd:problem:worker-out-of-memory); retry after Retry-After seconds',
  ),
  504: problem('A computation run in the worker pool took longer than COMPUTE_BUDGET_MS and was stopped'),
};

/**
 * The body of POST /v1/<operation>: the graph inline (`graph`), or a stored graph
 * named by its id (`graphId`), as the library takes it: exactly one of the two.
 */
const BodySchemas = Object.fromEntries(
  OPERATIONS.map((op) => [
    op,
    z.union([
      RequestSchemas[op],
      RequestByIdSchemas[op].meta({
        id: `${op[0].toUpperCase()}${op.slice(1)}RequestByGraphId`,
        description: `The body of POST /v1/${op} with a stored graph's id (POST /v1/graphs) in place of the graph`,
      }),
    ]),
  ]),
) as unknown as Record<Operation, z.ZodType>;

/** Adds the Retry-After header to every 503 of the compute routes (the zod transform keeps only content). */
export function withRetryAfter(doc: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  for (const path of OPERATIONS.flatMap((op) => [`/v1/${op}`, `/v1/graphs/{id}/${op}`])) {
    const unavailable = doc.paths?.[path]?.post?.responses?.['503'] as OpenAPIV3_1.ResponseObject | undefined;
    if (unavailable)
      unavailable.headers = {
        'Retry-After': { description: 'whole seconds to wait before retrying (at least 1)', schema: { type: 'integer', minimum: 1 } },
      };
  }
  return doc;
}

/**
 * The registered engines as `mode`'s enum: in every request schema (with auto)
 * and every result (without). The set is known only when the app is built
 * (ENGINE_MODULES), so it is written into the document then.
 */
export function withModes(doc: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  const engines = engineNames();
  type Props = Record<string, OpenAPIV3_1.SchemaObject> | undefined;
  for (const schema of Object.values(doc.components?.schemas ?? {})) {
    const mode = (schema.properties as Props)?.mode;
    if (mode && (schema.properties as Props)?.args) mode.enum = ['auto', ...engines]; // requests, graph inline or stored
  }
  for (const op of OPERATIONS) {
    const ok = doc.paths?.[`/v1/${op}`]?.post?.responses?.['200'] as OpenAPIV3_1.ResponseObject | undefined;
    const mode = (ok?.content?.['application/json']?.schema as OpenAPIV3_1.SchemaObject | undefined)?.properties?.mode as
      | OpenAPIV3_1.SchemaObject
      | undefined;
    if (mode) mode.enum = [...engines];
  }
  return doc;
}

/** Server-Timing: one metric per stage, durations in milliseconds (pooled: then the wait for a worker). */
export function serverTiming(t: Timings, queueMs?: number): string {
  const parts = [
    ['validate', t.validateMs],
    ['plan', t.planMs],
    ['evaluate', t.evaluateMs],
    ['differentiate', t.differentiateMs],
  ];
  if (t.checkMs !== undefined) parts.push(['check', t.checkMs]);
  parts.push(['total', t.totalMs]);
  if (queueMs !== undefined) parts.push(['queue', queueMs]);
  return parts.map(([name, ms]) => `${name};dur=${(ms as number).toFixed(3)}`).join(', ');
}

export interface ComputeOptions {
  config: Config;
  graphs: GraphRepository;
  metrics: Metrics;
  pool: ComputePool | null;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RawJson);

/** The path parameter of /v1/graphs/{id}/…: any id that is not stored (however spelt) is a 404. */
export const GraphIdParams = z.object({ id: z.string().describe("the stored graph's id (POST /v1/graphs answers it)") });

/** Whether `body` names a stored graph by `graphId` (the library's variant of the inline request). */
const hasGraphId = (body: unknown): body is object => typeof body === 'object' && body !== null && Object.hasOwn(body, 'graphId');

/**
 * At most how many nodes the formulas of a graph or function (`define`) make: one
 * per two characters (an operator and an operand), counted without parsing them.
 */
function formulaNodes(body: unknown): number {
  const define = typeof body === 'object' && body !== null ? (body as { define?: unknown }).define : undefined;
  if (typeof define !== 'object' || define === null) return 0;
  let chars = 0;
  for (const f of Object.values(define)) if (typeof f === 'string') chars += f.length;
  return Math.ceil(chars / 2);
}

/** A call on a stored graph carries no graph of its own: the URL names it. */
function notInBody(raw: unknown): void {
  if (!isObject(raw)) return;
  const issues = (['graph', 'graphId'] as const)
    .filter((k) => Object.hasOwn(raw, k))
    .map((k) => ({ path: k, message: `unexpected field ${JSON.stringify(k)}: the URL names the stored graph` }));
  if (issues.length > 0) throw new DerivdError('invalid_request', issues);
}

export async function computeRoutes(app: FastifyInstance, { config, metrics, pool, graphs }: ComputeOptions): Promise<void> {
  const limits = {
    maxNodes: config.maxNodes,
    maxInputs: config.maxInputs,
    maxElements: config.maxElements,
    maxResponseBytes: config.maxResponseBytes,
  };

  /**
   * Milliseconds validating `body` would take (placement.ts's preflightMs): reading
   * its arguments, and checking its graph unless the plan cache has it. The cache
   * is consulted only when the graph's size alone could matter.
   */
  const validationMs = (body: unknown, bodyBytes: number): number => {
    const graph = (body as { graph?: { nodes?: unknown; inputs?: unknown; functions?: unknown } } | null)?.graph;
    let items =
      (Array.isArray(graph?.nodes) ? graph.nodes.length : 0) +
      (Array.isArray(graph?.inputs) ? graph.inputs.length : 0) +
      formulaNodes(graph);
    // a function's nodes are checked like the graph's
    const fns = graph?.functions;
    if (typeof fns === 'object' && fns !== null) {
      for (const f of Object.values(fns)) {
        const nodes = typeof f === 'object' && f !== null ? (f as { nodes?: unknown }).nodes : undefined;
        if (Array.isArray(nodes)) items += nodes.length;
        items += formulaNodes(f);
      }
    }
    const unseen = preflightMs(bodyBytes, items, false);
    if (unseen <= config.inlineMaxCostMs) return unseen;
    return isGraphCached(body, { limits }) ? preflightMs(bodyBytes, items, true) : unseen;
  };

  /**
   * What a worker is told when it asks for a graph: `graph`, the call's own (a
   * handoff whose graph the worker has not cached); a stored graph by id (a body
   * the worker parsed names one by `graphId`), from the repository here or in Redis.
   */
  const graphAnswers =
    (graph?: unknown) =>
    async (question: GraphQuestion): Promise<GraphAnswer> => {
      if (question.wants === 'graph') return { graph };
      const stored = GRAPH_ID.test(question.id) ? await graphs.find(question.id) : undefined;
      return { text: stored?.text };
    };

  /** Runs `task` in the pool and answers with what the worker serialized (or its error). */
  const pooled = async (
    op: Operation,
    task: Omit<PoolTask, 'started' | 'budgetMs'>,
    estimatedMs: number,
    request: FastifyRequest,
    reply: FastifyReply,
    { transfer, graph }: { transfer?: ArrayBuffer[]; graph?: unknown } = {},
  ): Promise<never> => {
    const derivd = request.derivd as NonNullable<FastifyRequest['derivd']>;
    // A client that leaves (the response closes unfinished) cancels the task.
    const gone = new AbortController();
    const onClose = (): void => {
      if (!reply.raw.writableFinished) gone.abort();
    };
    reply.raw.once('close', onClose);
    let run: PoolRun;
    try {
      run = await (pool as ComputePool).run(task, { signal: gone.signal, estimatedMs, transfer, graphs: graphAnswers(graph) });
    } catch (err) {
      // For the log line: the worker that ran it, and whether it had to be terminated.
      if (err instanceof ComputeBudgetExceeded) Object.assign(derivd, { threadId: err.threadId, terminated: err.terminated });
      throw err;
    } finally {
      reply.raw.off('close', onClose);
    }
    const { outcome } = run;
    if (!outcome.ok) {
      if (outcome.kind === 'malformed_body') throw new MalformedBody(outcome.message);
      if (outcome.kind === 'estimated_over_budget') metrics.shed.inc({ reason: 'estimated_over_budget' });
      throw outcome.kind === 'estimated_over_budget'
        ? new EstimatedOverBudget(outcome.issues)
        : new DerivdError(outcome.kind, outcome.issues);
    }
    Object.assign(derivd, {
      mode: op === 'evaluate' ? undefined : outcome.mode,
      timings: outcome.timings,
      queueMs: run.queueMs,
      threadId: run.threadId,
    });
    metrics.computations.inc({ operation: op, where: 'pool' });
    if (outcome.cache) metrics.planCache.inc({ result: outcome.cache });
    if (outcome.mode) metrics.engineRuns.inc({ operation: op, mode: outcome.mode });
    reply.header('server-timing', serverTiming(outcome.timings, run.queueMs === undefined ? undefined : round3(run.queueMs)));
    // The worker serialized the same envelope the inline path returns; a string is sent as is.
    reply.type('application/json');
    return outcome.json as never;
  };

  /**
   * One call: `raw` is the parsed body, or RawJson; `graph` (a stored graph) is
   * what goes in it as its graph, for a RawJson the worker adds it once it has parsed the text.
   */
  const compute = async (op: Operation, raw: unknown, graph: unknown, request: FastifyRequest, reply: FastifyReply): Promise<never> => {
    if (pool && raw instanceof RawJson) {
      // Too large to parse here (raw-body.ts): a worker parses, validates, admits and computes.
      const estimatedMs = bodyMs(raw.text.length);
      request.derivd = { operation: op, where: 'pool', estimatedMs: round3(estimatedMs) };
      return pooled(op, { operation: op, text: raw.text, graph, limits, admit: true }, estimatedMs, request, reply);
    }
    const body = graph === undefined || !isObject(raw) ? raw : { ...raw, graph };
    if (pool) {
      checkCounts(body, { limits }); // MAX_NODES, MAX_INPUTS: refused here, by counting alone
      // A large graph not seen before, or a large body: even validating it is heavy work, done in the pool.
      const preflight = validationMs(body, bodyBytes(request));
      if (preflight > config.inlineMaxCostMs) {
        request.derivd = { operation: op, where: 'pool', estimatedMs: round3(preflight) };
        return pooled(op, { operation: op, body, limits, admit: true }, preflight, request, reply);
      }
    }
    // Validation errors (4xx) leave from here, before any worker is involved.
    // strictFloats: a non-finite number in a parsed JSON body was a literal such as 1e999
    const prepared = prepare(op, body, { limits, strictFloats: true });
    if (pool) {
      const cost = prepared.cost();
      request.derivd = {
        operation: op,
        mode: op === 'evaluate' ? undefined : prepared.mode,
        where: 'inline',
        estimatedMs: round3(cost.ms),
      };
      if (cost.ms > config.inlineMaxCostMs) {
        request.derivd.where = 'pool';
        const refusal = overBudget(cost.ms, config.computeBudgetMs);
        if (refusal) {
          metrics.shed.inc({ reason: 'estimated_over_budget' });
          throw new EstimatedOverBudget([refusal]);
        }
        // Checked and planned here: the worker gets the checked call, its tensors moved, not the body.
        const { handoff, transfer } = handOff(prepared);
        const graphOf = (body as { graph?: unknown }).graph;
        return pooled(op, { operation: op, handoff, limits }, cost.ms, request, reply, { transfer, graph: graphOf });
      }
    }
    const result: Result<'any', 'packed'> = respond(prepared, { output: 'packed' });
    const derivd = request.derivd ?? { operation: op };
    derivd.mode = result.mode;
    derivd.timings = result.timings;
    derivd.where = 'inline';
    request.derivd = derivd;
    metrics.computations.inc({ operation: op, where: 'inline' });
    if (result.stats.cache) metrics.planCache.inc({ result: result.stats.cache });
    if (result.mode) metrics.engineRuns.inc({ operation: op, mode: result.mode });
    reply.header('server-timing', serverTiming(result.timings));
    // The text JSON.stringify would write for output 'json' (every number a wire float, as
    // the schema says), by the writer generated for this result's layout; a string is sent as is.
    reply.type('application/json');
    return resultJson(result, prepared.request.encoding) as never;
  };

  for (const op of OPERATIONS) {
    app.withTypeProvider<ZodTypeProvider>().post(`/v1/${op}`, {
      schema: {
        summary: SUMMARIES[op],
        description: `The graph inline (\`graph\`), or a stored graph named by its id (\`graphId\`, from POST /v1/graphs): exactly one of the two. With \`graphId\` the answer is what POST /v1/graphs/{id}/${op} gives.`,
        operationId: op,
        tags: ['compute'],
        body: BodySchemas[op],
        response: {
          200: { description: 'Values and derivatives', content: { 'application/json': { schema: ResultSchemas[op] } } },
          ...PROBLEM_RESPONSES,
          404: problem('`graphId` names no stored graph (urn:derivd:problem:unknown-graph): register it with POST /v1/graphs'),
        },
      },
      // `graphId` in place of `graph` is resolved here, or by the worker that parses a large body (it asks this thread).
      handler: async (request, reply) => {
        const body: unknown = request.body;
        return compute(op, hasGraphId(body) ? await resolveGraphId(body) : body, undefined, request, reply);
      },
    });
    app.withTypeProvider<ZodTypeProvider>().post(`/v1/graphs/:id/${op}`, {
      schema: {
        summary: `${SUMMARIES[op]}, of a stored graph`,
        description: `The body of POST /v1/${op} without \`graph\`: the URL names a stored graph (POST /v1/graphs). The response is what POST /v1/${op} answers with that graph inline.`,
        operationId: `${op}OnStoredGraph`,
        tags: ['stored graphs'],
        params: GraphIdParams,
        body: CallSchemas[op],
        response: {
          200: { description: 'Values and derivatives', content: { 'application/json': { schema: ResultSchemas[op] } } },
          ...PROBLEM_RESPONSES,
          404: problem('No graph is stored under this id (urn:derivd:problem:unknown-graph): register it with POST /v1/graphs'),
        },
      },
      handler: async (request, reply) => {
        const raw: unknown = request.body;
        if (!(raw instanceof RawJson)) notInBody(raw);
        const { id } = request.params;
        let stored = GRAPH_ID.test(id) ? graphs.find(id) : undefined;
        if (stored instanceof Promise) stored = await stored; // only when Redis is asked
        if (!stored) throw unknownGraph(id);
        return compute(op, raw, stored.graph, request, reply);
      },
    });
  }

  /** A body with `graphId`: the same body with the stored graph, found here or in Redis. */
  async function resolveGraphId(body: object): Promise<unknown> {
    const { graphId } = body as { graphId?: unknown };
    const found = typeof graphId === 'string' && GRAPH_ID.test(graphId) ? await graphs.find(graphId) : undefined;
    return withStoredGraph(body, {}, () => found);
  }
}

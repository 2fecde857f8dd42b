/**
 * buildApp(config) makes the Fastify instance and never listens (main.ts does):
 * tests drive it with inject. Registration order follows the Fastify guide:
 * ecosystem plugins, hooks, then routes.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { OpenAPIV3_1 } from 'openapi-types';
import { loadEngineModules } from './engine-modules.js';
import {
  GraphStore,
  OPERATIONS,
  setCompileErrorHandler,
  SHARED_CACHE,
  storeGraph,
  summaryOf,
  type Operation,
  type Timings,
} from '../api/index.js';
import { admission, clientError, shedCompute } from './admission.js';
import type { Config } from './config.js';
import { createMetrics, type Metrics } from './metrics.js';
import { requestLogger } from './request-log.js';
import { ComputePool } from './pool.js';
import { PROBLEMS, sendProblem, toProblem } from './problem.js';
import { computeRoutes, withModes, withRetryAfter } from './routes/compute.js';
import { explainRoutes } from './routes/explain.js';
import { graphRoutes } from './routes/graphs.js';
import { healthRoutes, type Readiness } from './routes/health.js';
import { graphRepository } from './graph-repo.js';
import { apiKeys } from './plugins/access.js';
import { responseCompression, varyOnAcceptEncoding, withContentEncodings } from './plugins/compression.js';
import { decodeBodies } from './plugins/content-encoding.js';
import { buildMetricsServer, metricsEndpoint } from './plugins/metrics-endpoint.js';
import { withAccessControl } from './plugins/openapi-access.js';
import { playground } from './plugins/playground.js';
import { rateLimits } from './plugins/rate-limit.js';
import { securityHeaders } from './plugins/security-headers.js';
import { largeBodiesAsText } from './raw-body.js';
import { EXAMPLE_GRAPH, EXAMPLE_GRAPH_ID, type Example, operationExamples } from './examples.js';
import { Unavailable } from './shed.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What the compute handler learnt, for the request's log line. */
    derivd?: {
      operation: Operation;
      mode?: string;
      timings?: Timings;
      /** inline (on the event loop) or pool (a worker thread); the cost model's estimate that decided it. */
      where?: 'inline' | 'pool';
      estimatedMs?: number;
      /** Pooled: milliseconds waiting for a worker, and the worker's thread id. */
      queueMs?: number;
      threadId?: number;
      /** Past the budget: whether the worker had to be terminated (a step ran past the grace period). */
      terminated?: boolean;
    };
  }
}

/**
 * Puts each operation's example request and response on its media types (where
 * OpenAPI shows them, and Swagger UI prefills "Try it out"): POST /v1/<op>, the
 * same call on a stored graph, whose `{id}` example is the graph POST /v1/graphs's
 * example stores, that registration itself, and POST /v1/explain.
 */
function withExamples(doc: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  const put = (op: OpenAPIV3_1.OperationObject | undefined, ex: Example, status = '200'): void => {
    const body = op?.requestBody as OpenAPIV3_1.RequestBodyObject | undefined;
    const ok = op?.responses?.[status] as OpenAPIV3_1.ResponseObject | undefined;
    if (body?.content['application/json']) body.content['application/json'].example = ex.request;
    if (ok?.content?.['application/json']) ok.content['application/json'].example = ex.response;
  };
  const withId = (op: OpenAPIV3_1.OperationObject | undefined): void => {
    const id = op?.parameters?.find((p) => 'in' in p && p.in === 'path' && p.name === 'id') as OpenAPIV3_1.ParameterObject | undefined;
    if (id) id.example = EXAMPLE_GRAPH_ID;
  };
  const { inline, stored, explain } = operationExamples();
  for (const op of OPERATIONS) {
    put(doc.paths?.[`/v1/${op}`]?.post, inline[op]);
    put(doc.paths?.[`/v1/graphs/{id}/${op}`]?.post, stored[op]);
    withId(doc.paths?.[`/v1/graphs/{id}/${op}`]?.post);
  }
  const summary = { ...summaryOf(storeGraph(EXAMPLE_GRAPH, { graphStore: new GraphStore(1 << 20) }).stored) };
  put(doc.paths?.['/v1/graphs']?.post, { request: { graph: EXAMPLE_GRAPH }, response: summary }, '201');
  withId(doc.paths?.['/v1/graphs/{id}']?.get);
  put(doc.paths?.['/v1/explain']?.post, explain);
  return doc;
}

/**
 * One schema set. fastify-type-provider-zod writes every registered schema twice:
 * as zod's input (`…Input`, what request bodies point at) and as its output (what
 * responses point at). derivd's request schemas are strict objects without
 * defaults or transforms, so the two copies say the same; the `…Input` copies are
 * dropped and their references pointed at the other. Should a schema's two forms
 * ever differ where a request uses it, building the document fails here.
 */
export function oneSchemaSet(doc: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  const schemas = doc.components?.schemas ?? {};
  const ref = (name: string): string => `#/components/schemas/${name}`;
  const inputs = Object.keys(schemas).filter((k) => k.endsWith('Input') && schemas[k.slice(0, -'Input'.length)] !== undefined);
  const renamed = new Map(inputs.map((k) => [ref(k), ref(k.slice(0, -'Input'.length))]));
  const rewrite = (v: unknown): unknown =>
    JSON.parse(JSON.stringify(v), (key, value) => (key === '$ref' && renamed.has(value) ? renamed.get(value) : value));
  const used = JSON.stringify([doc.paths, ...inputs.map((k) => schemas[k])]);
  for (const k of inputs) {
    const base = k.slice(0, -'Input'.length);
    if (used.includes(`"${ref(k)}"`) && JSON.stringify(rewrite(schemas[k])) !== JSON.stringify(schemas[base]))
      throw new Error(`OpenAPI: the input and output forms of schema ${base} differ; document them separately`);
  }
  for (const k of inputs) delete schemas[k];
  return rewrite(doc) as OpenAPIV3_1.Document;
}

/** An operationId from a route's URL: its static segments after /v1, camelCased (POST /v1/explain: explain). */
export function operationIdOf(url: string): string {
  const words = url.split('/').filter((s) => s !== '' && s !== 'v1' && !s.startsWith(':'));
  return words.map((w, i) => (i === 0 ? w : w[0].toUpperCase() + w.slice(1))).join('');
}

/** An incoming x-request-id is honoured when it is a sane token; otherwise a UUID. */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The document's info.version: the package's own, read when the module loads (dist/server/ and src/server/ alike sit two levels down). */
export const API_VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

export interface App {
  app: FastifyInstance;
  readiness: Readiness;
  metrics: Metrics;
  /** The worker pool for heavy requests; null when WORKERS is 0. */
  pool: ComputePool | null;
  /** The /metrics listener for METRICS_PORT (main.ts starts it; the app's close stops it); null: /metrics is on the app. */
  metricsServer: FastifyInstance | null;
}

/** Each thread's share of CACHE_BYTES: the main thread's and every worker's plan cache get as much. */
export const cacheShare = (config: Config): number => Math.floor(config.cacheBytes / (config.workers + 1));

/** `logStream`: where the JSON log lines go (default stdout); tests pass one to read them. */
/**
 * The methods each registered route answers, by URL pattern (`:id` matches one
 * segment, `*` the rest): what a 405's Allow header lists.
 */
function routeMethods(app: FastifyInstance): { allowed(path: string): string[] } {
  const patterns: { re: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', (route) => {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'OPTIONS');
    // Wildcards (static files, CORS preflight) would name every path: they are left out.
    if (methods.length === 0 || route.url.includes('*')) return;
    const segment = (part: string): string => (part.startsWith(':') ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
    const re = new RegExp(`^${route.url.split('/').map(segment).join('/')}/?$`);
    let entry = patterns.find((p) => p.re.source === re.source);
    if (!entry) {
      entry = { re, methods: new Set() };
      patterns.push(entry);
    }
    for (const m of methods) entry.methods.add(m);
  });
  return {
    allowed(path) {
      const out = new Set<string>();
      for (const p of patterns) if (p.re.test(path)) for (const m of p.methods) out.add(m);
      return [...out].sort();
    },
  };
}

export async function buildApp(config: Config, logStream?: NodeJS.WritableStream): Promise<App> {
  const readiness: Readiness = { state: 'starting' };
  await loadEngineModules(config.engineModules);
  SHARED_CACHE.resize(cacheShare(config));
  // Threads start lazily (first pooled request, or main.ts's start()): building an app costs none.
  const pool =
    config.workers > 0
      ? new ComputePool({
          size: config.workers,
          budgetMs: config.computeBudgetMs,
          maxQueue: config.maxQueue,
          queueTimeoutMs: config.queueTimeoutMs,
          heapMb: config.workerHeapMb,
          cacheBytes: cacheShare(config),
          engineModules: config.engineModules,
          onThreadStart: () => metrics.poolThreadsStarted.inc(),
          onCancel: (reason) => metrics.poolCancelled.inc({ reason }),
          onShed: (reason) => metrics.shed.inc({ reason }),
          onError: (err) => app.log.error({ err }, 'compute pool error'),
        })
      : null;
  // The pool's callbacks above, and these gauges, run only later (threads, scrapes), once both exist.
  const metrics = createMetrics(pool, {
    eventLoopDelayMs: () => app.memoryUsage().eventLoopDelay,
    saturated: () => readiness.state === 'ready' && readiness.saturated?.() === true,
  });
  const app = Fastify({
    logger: { level: config.logLevel, ...(logStream ? { stream: logStream } : {}) },
    logController: new LogController({ disableRequestLogging: true }), // one line per request, written in onResponse below
    bodyLimit: config.bodyLimit,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    // The whole request must arrive within requestTimeout. Node checks it every
    // connectionsCheckingInterval (30 s by default): a tenth of the timeout, at most
    // a second, keeps the real bound close to the configured one.
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.connectionTimeoutMs,
    http: {
      headersTimeout: Math.min(60_000, config.requestTimeoutMs),
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.ceil(config.requestTimeoutMs / 10))),
    },
    clientErrorHandler: clientError,
    // While draining, admission.ts answers compute requests 503 shutting-down as a
    // problem, and /healthz, /readyz and /metrics keep answering (Fastify's own 503 would cover them all).
    return503OnClosing: false,
    // Ids and names such as "__proto__" are plain data in derivd. JSON.parse makes them
    // own properties (no prototype is touched); the code reads them with Maps and hasOwn.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });

  // A list that fails to compile runs interpreted; say so once (see compile/execute.ts).
  setCompileErrorHandler((err, equations) => app.log.error({ err, equations }, 'compiling an equation list failed; it runs interpreted'));

  // Beyond the cap Node drops new connections at once (0: no cap).
  if (config.maxConnections > 0) app.server.maxConnections = config.maxConnections;

  // JSON only: Fastify would also parse text/plain; anything else is a 415.
  app.removeContentTypeParser('text/plain');
  // With a pool, a large body is parsed by a worker, not here (raw-body.ts).
  if (pool) largeBodiesAsText(app, config.inlineMaxCostMs);

  // The library validates request bodies (every issue, with its path); the zod schemas
  // on the routes document them and type the handlers.
  app.setValidatorCompiler(() => (data) => ({ value: data }));
  // Bodies are built JSON-ready (non-finite numbers already strings): no per-field work.
  // Compute results arrive as text already (api/result-json.ts writes them).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // Root hooks, before any route: security headers on every response; compressed request
  // bodies decoded (within BODY_LIMIT) before parsing; responses compressed when the client allows.
  await securityHeaders(app);
  await decodeBodies(app);
  await responseCompression(app);
  if (config.corsOrigins !== null)
    await app.register(cors, { origin: config.corsOrigins, exposedHeaders: ['x-request-id', 'server-timing'] });

  // Every documented route has an operationId: its own, or one made from its URL, so a
  // route added later is named without anyone remembering to (generated clients call them by it).
  app.addHook('onRoute', (route) => {
    if (route.schema?.hide === true || route.url.includes('*') || route.method === 'HEAD') return;
    if (route.schema?.operationId === undefined) route.schema = { ...route.schema, operationId: operationIdOf(route.url) };
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      // Relative: "Try it out" in /docs, and clients given a base URL, call the server that serves the document.
      servers: [{ url: '/', description: 'this service' }],
      info: {
        title: 'derivd',
        version: API_VERSION,
        description:
          'Derivatives on demand: POST a function as a JSON expression graph with argument values and get values, ' +
          'Jacobians, gradients, JVPs, VJPs, Hessians and Hessian-vector products, computed by forward-mode, ' +
          'reverse-mode or finite-difference engines. Inputs named in `constant` are not differentiated. ' +
          'Numbers: JSON has no NaN or Infinity, so the strings "NaN", "Infinity" and "-Infinity" stand for them, ' +
          'in requests and responses; finite numbers are written with shortest round-trip precision. ' +
          'Errors are application/problem+json (RFC 9457) with `errors[].path` in dot-and-bracket notation. ' +
          'Compression: request bodies may be sent with Content-Encoding gzip, deflate or br (BODY_LIMIT bounds the inflated size); ' +
          'responses of 1 KiB or more are compressed with br or gzip when Accept-Encoding allows, and carry Vary: Accept-Encoding.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      tags: [
        { name: 'compute', description: 'Values and derivatives' },
        { name: 'stored graphs', description: 'Graphs stored once and named by their id in later calls' },
        { name: 'operations', description: 'Health, readiness, metrics' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: (input) =>
      withContentEncodings(
        withModes(withRetryAfter(withAccessControl(withExamples(oneSchemaSet(jsonSchemaTransformObject(input) as OpenAPIV3_1.Document))))),
      ),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await playground(app);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // One root onSend hook, synchronous (each hook, and each async one more so, costs every
  // request a turn of Fastify's hook runner): the request id, Vary, and while draining
  // `Connection: close`. A response finished while draining closes its connection: close()
  // reaps only idle keep-alive connections, so one busy when it began (a pooled request
  // computing) would otherwise hold the server open until its keep-alive timeout.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    varyOnAcceptEncoding(reply);
    if (readiness.state === 'draining') reply.header('connection', 'close');
    done(null, payload);
  });
  const requestLog = requestLogger(metrics);
  app.addHook('onResponse', (request, reply, done) => {
    requestLog(request, reply);
    done();
  });
  app.addHook('onReady', async () => {
    readiness.state = 'ready';
  });
  app.addHook('preClose', async () => {
    readiness.state = 'draining';
    pool?.drain(); // queued-but-unstarted pooled requests: 503 shutting-down
  });
  // onClose runs once in-flight requests have been answered; pool.close() still lets
  // any task left running finish before the threads are terminated.
  app.addHook('onClose', async () => {
    await pool?.close();
  });

  app.setErrorHandler((err, request, reply) => {
    const p = toProblem(err, request);
    if (err instanceof Unavailable) reply.header('retry-after', String(err.retryAfterS));
    if (p.status === 504 || p.status === 503 || p.status === 499)
      request.log.warn({ problem: { type: p.type, status: p.status }, ...(request.derivd ?? {}) }, p.detail);
    else if (p.status >= 500) request.log.error({ err }, 'unhandled error');
    // Issue messages quote offending values (argument data): only their paths are logged.
    else
      request.log.debug(
        { problem: { type: p.type, status: p.status, code: (err as { code?: unknown }).code, paths: p.errors?.map((i) => i.path) } },
        'client error',
      );
    return sendProblem(reply, p);
  });
  // A path that exists for other methods is a 405 naming them in Allow (RFC 9110), not a 404.
  const routes = routeMethods(app);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = routes.allowed(path);
    const kind = allowed.length > 0 ? PROBLEMS.method_not_allowed : PROBLEMS.not_found;
    if (allowed.length > 0) void reply.header('allow', allowed.join(', '));
    return sendProblem(reply, {
      type: kind.type,
      title: kind.title,
      status: kind.status,
      detail:
        allowed.length > 0
          ? `${request.method} is not allowed on ${path}: use ${allowed.join(' or ')}`
          : `no route for ${request.method} ${path}`,
      instance: request.id,
    });
  });

  // Shedding (pressure, saturation, draining) comes first: the cheapest answer, before
  // API keys and rate limits (which may ask Redis) spend anything on a request.
  await admission(app, { config, pool, readiness, metrics });
  await app.register(healthRoutes, { readiness });
  const metricsOptions = { metrics, token: config.metricsToken };
  const metricsServer = config.metricsPort === 0 ? null : await buildMetricsServer(metricsOptions, app.log);
  if (metricsServer) app.addHook('onClose', () => metricsServer.close());
  else await metricsEndpoint(app, metricsOptions);
  // Stored graphs: this process's store, shared through Redis with REDIS_URL.
  const graphs = graphRepository(config.graphStoreBytes, config.redisUrl, app.log);
  app.addHook('onReady', () => graphs.ready());
  app.addHook('onClose', async () => graphs.close());
  // API keys, then rate limits (counted per key), on the compute and stored-graph routes only.
  await app.register(async (v1) => {
    shedCompute(v1, { pool, readiness, metrics }); // every /v1/* route is in this scope
    await apiKeys(v1, config.apiKeyDigests);
    await rateLimits(v1, config);
    await v1.register(computeRoutes, { config, metrics, pool, graphs });
    await v1.register(graphRoutes, { config, graphs });
    await v1.register(explainRoutes, { config, graphs });
  });
  return { app, readiness, metrics, pool, metricsServer };
}

/**
 * Configuration from environment variables, validated once at start-up. Only
 * main.ts reads the environment; everything else takes a Config object.
 */
import { availableParallelism, totalmem } from 'node:os';
import { z } from 'zod';

const MiB = 1024 * 1024;
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every setting: its variable, default and meaning (the README's table is this list). */
export const ConfigSchema = z.object({
  PORT: int(0, 65535).default(8080).describe('TCP port to listen on'),
  HOST: z.string().min(1).default('0.0.0.0').describe('address to bind'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level'),
  BODY_LIMIT: int(1, 1024 * MiB)
    .default(16 * MiB)
    .describe('largest request body, in bytes (413 above)'),
  MAX_NODES: int(1, 1_000_000).default(10_000).describe('most nodes a graph may have (413 above)'),
  MAX_ELEMENTS: int(1, 1_000_000_000)
    .default(10_000_000)
    .describe('most elements of any tensor, and of a whole result: values and derivative blocks together (413 above)'),
  MAX_INPUTS: int(1, 1_000_000).default(10_000).describe('most inputs a graph may have (413 above)'),
  MAX_RESPONSE_BYTES: int(1024, 2 * 1024 * MiB)
    .default(256 * MiB)
    .describe('largest response a request may ask for, by an upper bound computed before any arithmetic (413 above)'),
  CACHE_BYTES: int(1024 * 1024, 64 * 1024 * MiB)
    .default(256 * MiB)
    .describe('plan-cache budget for the whole process, split evenly between the main thread and each worker'),
  GRAPH_STORE_BYTES: int(1024 * 1024, 64 * 1024 * MiB)
    .default(64 * MiB)
    .describe(
      'stored graphs (POST /v1/graphs) kept in this process, an LRU bounded by bytes (about 4 per character of the canonical JSON)',
    ),
  CORS_ORIGINS: z.string().default('').describe('comma-separated origins allowed by CORS, or * for any; empty: CORS off'),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000).describe('longest wait for in-flight requests after SIGTERM/SIGINT'),
  KEEP_ALIVE_TIMEOUT_MS: int(0, 600_000).default(72_000).describe("idle keep-alive timeout (above common load balancers' 60 s)"),
  WORKERS: z
    .union([z.literal('auto'), int(0, 256)], { error: 'expected auto or a whole number from 0 to 256' })
    .default('auto')
    .describe('worker threads for heavy requests; auto: one per core (os.availableParallelism()); 0: no pool, everything runs inline'),
  INLINE_MAX_COST_MS: z.coerce
    .number()
    .min(0)
    .max(60_000)
    .default(5)
    .describe('requests estimated (cost model) above this run in the worker pool; it bounds the work done on the event loop'),
  COMPUTE_BUDGET_MS: int(1, 3_600_000)
    .default(30_000)
    .describe(
      'longest computation of a pooled request (504 above: stopped between two steps, or its worker replaced a grace period later)',
    ),
  MAX_QUEUE: z
    .union([z.literal('auto'), int(0, 100_000)], { error: 'expected auto or a whole number from 0 to 100000' })
    .default('auto')
    .describe('pooled requests that may wait for a worker; beyond them, 503 overloaded; auto: 4 × WORKERS, at least 8'),
  QUEUE_TIMEOUT_MS: int(1, 600_000)
    .default(10_000)
    .describe('longest wait for a worker: a pooled request not started by then gets 503 overloaded'),
  MAX_EVENT_LOOP_DELAY_MS: int(0, 60_000)
    .default(1000)
    .describe('compute requests get 503 overloaded while the event-loop delay is above this; 0: off'),
  MEMORY_BUDGET_MB: z
    .union([z.literal('auto'), int(0, 16 * 1024 * 1024)], { error: 'expected auto or a whole number of MiB' })
    .default('auto')
    .describe(
      'process RSS in MiB above which compute requests get 503 overloaded; auto: 80 % of the memory limit (cgroup, else physical memory); 0: off',
    ),
  WORKER_HEAP_MB: int(16, 1024 * 1024)
    .default(640)
    .describe('V8 old-generation limit of each worker thread, in MiB; a worker past it is replaced and its request gets 503'),
  REQUEST_TIMEOUT_MS: int(1, 3_600_000)
    .default(30_000)
    .describe('the whole request (headers and body) must arrive within this; else 408 and the connection is closed'),
  CONNECTION_TIMEOUT_MS: int(0, 3_600_000)
    .default(60_000)
    .describe(
      "a socket with no traffic for this long is closed (0: never); must exceed QUEUE_TIMEOUT_MS + COMPUTE_BUDGET_MS + the cut's grace",
    ),
  MAX_CONNECTIONS: int(0, 1_000_000).default(1024).describe('most open connections; further ones are refused at once (0: no cap)'),
  API_KEYS: z
    .string()
    .default('')
    .refine((s) => s === '' || apiKeyDigests(s) !== null, { error: 'expected comma-separated SHA-256 hex digests (64 hex digits each)' })
    .describe('comma-separated SHA-256 hex digests of accepted API keys (Authorization: Bearer <key> on /v1/*); empty: no key needed'),
  RATE_LIMIT_PER_MINUTE: int(0, 1_000_000)
    .default(0)
    .describe('requests per minute on /v1/* per API key (per client IP without keys); 0: off'),
  REDIS_URL: z
    .string()
    .default('')
    .refine((s) => s === '' || /^rediss?:\/\/[^\s]*$/.test(s), { error: 'expected a redis:// or rediss:// URL' })
    .describe(
      'Redis that replicas share rate-limit counters and stored graphs through (redis:// or rediss://); empty: each replica counts and stores alone',
    ),
  METRICS_PORT: int(0, 65535)
    .default(0)
    .describe('serve /metrics on this port (on HOST) instead of the service port; 0: on the service port'),
  METRICS_TOKEN: z
    .string()
    .default('')
    .refine((s) => /^[\x21-\x7e]*$/.test(s), { error: 'expected printable ASCII without spaces' })
    .describe('bearer token that /metrics requires (Authorization: Bearer <token>); empty: /metrics is open'),
  ENGINE_MODULES: z
    .string()
    .default('')
    .describe(
      'comma-separated modules (paths or package names) whose default export is an engine or a list of engines, registered in every thread; `mode` then accepts their names',
    ),
});

/** Lower-case digests of API_KEYS, or null when an entry is not 64 hex digits. */
function apiKeyDigests(s: string): string[] | null {
  const entries = s
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  return entries.length > 0 && entries.every((e) => /^[0-9a-fA-F]{64}$/.test(e)) ? entries.map((e) => e.toLowerCase()) : null;
}

/** Secrets (or URLs that may carry a password) are never echoed in configuration errors. */
const HIDDEN = new Set(['API_KEYS', 'REDIS_URL', 'METRICS_TOKEN']);

export type EnvironmentVariables = z.input<typeof ConfigSchema>;
export type RawConfig = z.output<typeof ConfigSchema>;

export interface Config {
  port: number;
  host: string;
  logLevel: RawConfig['LOG_LEVEL'];
  bodyLimit: number;
  maxNodes: number;
  maxElements: number;
  maxInputs: number;
  maxResponseBytes: number;
  /** The plan cache's budget for the whole process (each thread gets an equal share). */
  cacheBytes: number;
  /** Stored graphs kept in this process (the main thread's store), in bytes. */
  graphStoreBytes: number;
  /** null: CORS off; true: any origin; otherwise the allowed origins. */
  corsOrigins: string[] | true | null;
  shutdownTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Worker threads in the compute pool; 0: no pool, every request runs inline. */
  workers: number;
  /** Requests whose estimated cost is above this many milliseconds run in the pool. */
  inlineMaxCostMs: number;
  /** A pooled computation running longer than this is stopped (504); its worker is terminated only past cutGraceMs more. */
  computeBudgetMs: number;
  /** Lower-case SHA-256 hex digests of the accepted API keys; empty: /v1/* needs no key. */
  apiKeyDigests: string[];
  /** Requests per minute per API key (per client IP without keys) on /v1/*; 0: no rate limit. */
  rateLimitPerMinute: number;
  /** Redis shared by replicas for the rate-limit counters; null: counted in this process. */
  redisUrl: string | null;
  /** Port of a separate /metrics listener; 0: /metrics is served on the service port. */
  metricsPort: number;
  /** Bearer token /metrics requires; null: open. */
  metricsToken: string | null;
  /** ENGINE_MODULES, one entry each. */
  engineModules: string[];
  /** Pooled requests that may wait for a worker (503 beyond), and for how long at most. */
  maxQueue: number;
  queueTimeoutMs: number;
  /** Shed compute requests above this event-loop delay (0: off). */
  maxEventLoopDelayMs: number;
  /** Shed compute requests while the process RSS is above this many MiB (0: off). */
  memoryBudgetMb: number;
  /** Each worker thread's old-generation heap limit, in MiB. */
  workerHeapMb: number;
  requestTimeoutMs: number;
  /** Socket inactivity timeout (0: none). */
  connectionTimeoutMs: number;
  /** Connection cap (0: none). */
  maxConnections: number;
}

/**
 * How long past COMPUTE_BUDGET_MS a pooled computation may run before its worker is
 * terminated (the cooperative check in the engines should have stopped it by then):
 * a quarter of the budget, at least a second, so a cut worker is a rare fallback.
 */
export function cutGraceMs(budgetMs: number): number {
  return Math.max(1000, Math.ceil(budgetMs / 4));
}

/** MEMORY_BUDGET_MB=auto: 80 % of the cgroup limit, or of physical memory when there is none. */
function autoMemoryBudgetMb(): number {
  const total = totalmem();
  const limit = process.constrainedMemory(); // 0 or 2^64 when unconstrained, depending on the Node version
  return Math.floor((0.8 * (limit > 0 && limit < total ? limit : total)) / MiB);
}

export class ConfigError extends Error {}

/** Parses variables (unset or empty means default); throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.keys(ConfigSchema.shape)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]]),
  );
  const parsed = ConfigSchema.safeParse(present);
  if (!parsed.success) {
    const shown = (k: string): string => (HIDDEN.has(k) ? '(value hidden)' : JSON.stringify(present[k]));
    const lines = parsed.error.issues.map((i) => `  ${String(i.path[0])}=${shown(String(i.path[0]))}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  // Clients waiting for a worker and then computing send and receive nothing: the idle
  // socket timeout must outlast the longest wait plus the longest cut computation.
  const longestMs = c.QUEUE_TIMEOUT_MS + c.COMPUTE_BUDGET_MS + cutGraceMs(c.COMPUTE_BUDGET_MS);
  if (c.CONNECTION_TIMEOUT_MS > 0 && c.CONNECTION_TIMEOUT_MS <= longestMs) {
    throw new ConfigError(
      `invalid configuration:\n  CONNECTION_TIMEOUT_MS=${JSON.stringify(String(c.CONNECTION_TIMEOUT_MS))}: must exceed QUEUE_TIMEOUT_MS + COMPUTE_BUDGET_MS + max(1 s, COMPUTE_BUDGET_MS / 4) = ${longestMs} ms, or a waiting client's connection would be cut`,
    );
  }
  const workers = c.WORKERS === 'auto' ? availableParallelism() : c.WORKERS;
  if (c.METRICS_PORT !== 0 && c.METRICS_PORT === c.PORT)
    throw new ConfigError(`invalid configuration:\n  METRICS_PORT=${c.METRICS_PORT}: must differ from PORT`);
  const origins = c.CORS_ORIGINS.split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  return {
    port: c.PORT,
    host: c.HOST,
    logLevel: c.LOG_LEVEL,
    bodyLimit: c.BODY_LIMIT,
    maxNodes: c.MAX_NODES,
    maxElements: c.MAX_ELEMENTS,
    maxInputs: c.MAX_INPUTS,
    maxResponseBytes: c.MAX_RESPONSE_BYTES,
    cacheBytes: c.CACHE_BYTES,
    graphStoreBytes: c.GRAPH_STORE_BYTES,
    corsOrigins: origins.length === 0 ? null : origins.includes('*') ? true : origins,
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT_MS,
    keepAliveTimeoutMs: c.KEEP_ALIVE_TIMEOUT_MS,
    workers,
    inlineMaxCostMs: c.INLINE_MAX_COST_MS,
    computeBudgetMs: c.COMPUTE_BUDGET_MS,
    // At least 8, so that 8 concurrent ordinary requests never see a 503 even with one worker.
    maxQueue: c.MAX_QUEUE === 'auto' ? Math.max(8, 4 * workers) : c.MAX_QUEUE,
    queueTimeoutMs: c.QUEUE_TIMEOUT_MS,
    maxEventLoopDelayMs: c.MAX_EVENT_LOOP_DELAY_MS,
    memoryBudgetMb: c.MEMORY_BUDGET_MB === 'auto' ? autoMemoryBudgetMb() : c.MEMORY_BUDGET_MB,
    workerHeapMb: c.WORKER_HEAP_MB,
    requestTimeoutMs: c.REQUEST_TIMEOUT_MS,
    connectionTimeoutMs: c.CONNECTION_TIMEOUT_MS,
    maxConnections: c.MAX_CONNECTIONS,
    apiKeyDigests: apiKeyDigests(c.API_KEYS) ?? [],
    rateLimitPerMinute: c.RATE_LIMIT_PER_MINUTE,
    redisUrl: c.REDIS_URL === '' ? null : c.REDIS_URL,
    metricsPort: c.METRICS_PORT,
    metricsToken: c.METRICS_TOKEN === '' ? null : c.METRICS_TOKEN,
    engineModules: c.ENGINE_MODULES.split(',')
      .map((m) => m.trim())
      .filter(Boolean),
  };
}

/** The defaults, for tests and tools. */
export const DEFAULT_CONFIG: Config = loadConfig({});

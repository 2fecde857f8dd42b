/**
 * Configuration from environment variables, validated once at start-up. Only
 * main.ts reads the environment; everything else takes a Config object.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';

const MiB = 1024 * 1024;
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every setting: its variable, default and meaning (the README's table is this list). */
export const ConfigSchema = z.object({
  PORT: int(0, 65535).default(8080).describe('TCP port to listen on'),
  HOST: z.string().min(1).default('0.0.0.0').describe('address to bind'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level'),
  BODY_LIMIT: int(1, 1024 * MiB).default(16 * MiB).describe('largest request body, in bytes (413 above)'),
  MAX_NODES: int(1, 1_000_000).default(10_000).describe('most nodes a graph may have (413 above)'),
  MAX_ELEMENTS: int(1, 1_000_000_000).default(10_000_000).describe('most elements of any tensor, and of a whole result: values and derivative blocks together (413 above)'),
  MAX_INPUTS: int(1, 1_000_000).default(10_000).describe('most inputs a graph may have (413 above)'),
  MAX_RESPONSE_BYTES: int(1024, 2 * 1024 * MiB).default(256 * MiB).describe('largest response a request may ask for, by an upper bound computed before any arithmetic (413 above)'),
  CORS_ORIGINS: z.string().default('').describe('comma-separated origins allowed by CORS, or * for any; empty: CORS off'),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000).describe('longest wait for in-flight requests after SIGTERM/SIGINT'),
  KEEP_ALIVE_TIMEOUT_MS: int(0, 600_000).default(72_000).describe('idle keep-alive timeout (above common load balancers\' 60 s)'),
  WORKERS: z
    .union([z.literal('auto'), int(0, 256)], { error: 'expected auto or a whole number from 0 to 256' })
    .default('auto')
    .describe('worker threads for heavy requests; auto: one per core (os.availableParallelism()); 0: no pool, everything runs inline'),
  INLINE_MAX_COST_MS: z.coerce.number().min(0).max(60_000).default(5).describe('requests estimated (cost model) above this run in the worker pool; it bounds the work done on the event loop'),
  COMPUTE_BUDGET_MS: int(1, 3_600_000).default(30_000).describe('longest computation of a pooled request (504 above; its worker is replaced)'),
  API_KEYS: z
    .string()
    .default('')
    .refine((s) => s === '' || apiKeyDigests(s) !== null, { error: 'expected comma-separated SHA-256 hex digests (64 hex digits each)' })
    .describe('comma-separated SHA-256 hex digests of accepted API keys (Authorization: Bearer <key> on /v1/*); empty: no key needed'),
  RATE_LIMIT_PER_MINUTE: int(0, 1_000_000).default(0).describe('requests per minute on /v1/* per API key (per client IP without keys); 0: off'),
  REDIS_URL: z
    .string()
    .default('')
    .refine((s) => s === '' || /^rediss?:\/\/[^\s]*$/.test(s), { error: 'expected a redis:// or rediss:// URL' })
    .describe('Redis that replicas share rate-limit counters through (redis:// or rediss://); empty: each replica counts alone'),
  METRICS_PORT: int(0, 65535).default(0).describe('serve /metrics on this port (on HOST) instead of the service port; 0: on the service port'),
  METRICS_TOKEN: z
    .string()
    .default('')
    .refine((s) => /^[\x21-\x7e]*$/.test(s), { error: 'expected printable ASCII without spaces' })
    .describe('bearer token that /metrics requires (Authorization: Bearer <token>); empty: /metrics is open'),
});

/** Lower-case digests of API_KEYS, or null when an entry is not 64 hex digits. */
function apiKeyDigests(s: string): string[] | null {
  const entries = s.split(',').map((e) => e.trim()).filter(Boolean);
  return entries.length > 0 && entries.every((e) => /^[0-9a-fA-F]{64}$/.test(e)) ? entries.map((e) => e.toLowerCase()) : null;
}

/** Secrets (or URLs that may carry a password) are never echoed in configuration errors. */
const HIDDEN = new Set(['API_KEYS', 'REDIS_URL', 'METRICS_TOKEN']);

export type Env = z.input<typeof ConfigSchema>;
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
  /** null: CORS off; true: any origin; otherwise the allowed origins. */
  corsOrigins: string[] | true | null;
  shutdownTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Worker threads in the compute pool; 0: no pool, every request runs inline. */
  workers: number;
  /** Requests whose estimated cost is above this many milliseconds run in the pool. */
  inlineMaxCostMs: number;
  /** A pooled computation running longer than this is cut (504) and its worker terminated. */
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
}

export class ConfigError extends Error {}

/** Parses variables (unset or empty means default); throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.keys(ConfigSchema.shape).filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]),
  );
  const parsed = ConfigSchema.safeParse(present);
  if (!parsed.success) {
    const shown = (k: string): string => (HIDDEN.has(k) ? '(value hidden)' : JSON.stringify(present[k]));
    const lines = parsed.error.issues.map((i) => `  ${String(i.path[0])}=${shown(String(i.path[0]))}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  if (c.METRICS_PORT !== 0 && c.METRICS_PORT === c.PORT) throw new ConfigError(`invalid configuration:\n  METRICS_PORT=${c.METRICS_PORT}: must differ from PORT`);
  const origins = c.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean);
  return {
    port: c.PORT,
    host: c.HOST,
    logLevel: c.LOG_LEVEL,
    bodyLimit: c.BODY_LIMIT,
    maxNodes: c.MAX_NODES,
    maxElements: c.MAX_ELEMENTS,
    maxInputs: c.MAX_INPUTS,
    maxResponseBytes: c.MAX_RESPONSE_BYTES,
    corsOrigins: origins.length === 0 ? null : origins.includes('*') ? true : origins,
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT_MS,
    keepAliveTimeoutMs: c.KEEP_ALIVE_TIMEOUT_MS,
    workers: c.WORKERS === 'auto' ? availableParallelism() : c.WORKERS,
    inlineMaxCostMs: c.INLINE_MAX_COST_MS,
    computeBudgetMs: c.COMPUTE_BUDGET_MS,
    apiKeyDigests: apiKeyDigests(c.API_KEYS) ?? [],
    rateLimitPerMinute: c.RATE_LIMIT_PER_MINUTE,
    redisUrl: c.REDIS_URL === '' ? null : c.REDIS_URL,
    metricsPort: c.METRICS_PORT,
    metricsToken: c.METRICS_TOKEN === '' ? null : c.METRICS_TOKEN,
  };
}

/** The defaults, for tests and tools. */
export const DEFAULT_CONFIG: Config = loadConfig({});

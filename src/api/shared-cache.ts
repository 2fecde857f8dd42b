/** The plan cache the library uses unless a call brings its own, and the questions the service asks of it. */
import { PlanCache, graphKey } from '../graph/plan-cache.js';
import { checkCounts as checkGraphCounts, DEFAULT_LIMITS } from '../graph/limits.js';
import type { Options } from './types.js';

/**
 * The shared plan cache. 256 MiB: what compiled code keeps for one large problem
 * (a gradient over 10^6 elements keeps about 115 MB of buffers; allocating them
 * per run instead made it 8 times slower) fits in the half of it one graph may take.
 */
export const SHARED_CACHE = new PlanCache(256 * 1024 * 1024);

/** The cache a call uses: its own, none (false), or the shared one. */
export const cacheOf = (options: Options): PlanCache | undefined => (options.cache === false ? undefined : (options.cache ?? SHARED_CACHE));

/**
 * Refuses a request over MAX_NODES or MAX_INPUTS (limit_exceeded) by counting
 * alone: what the service checks before deciding where to validate the rest.
 */
export function checkCounts(request: unknown, options: Options = {}): void {
  checkGraphCounts((request as { graph?: unknown } | null)?.graph, { ...DEFAULT_LIMITS, ...options.limits });
}

/**
 * Whether the graph of `request` is in the cache `options` name (the shared one by
 * default), without touching its recency or the hit counts: what the service asks
 * before deciding where even validation should run.
 */
export function isGraphCached(request: unknown, options: Options = {}): boolean {
  const cache = cacheOf(options);
  const key = cache ? graphKey((request as { graph?: unknown } | null)?.graph, { ...DEFAULT_LIMITS, ...options.limits }) : undefined;
  return key !== undefined && (cache as PlanCache).has(key);
}

/**
 * Rate limits on /v1/* (RATE_LIMIT_PER_MINUTE; 0: off) with @fastify/rate-limit:
 * a fixed one-minute window per API key (its digest) when API_KEYS is set, per
 * client IP otherwise. Over the limit: 429 problem+json with Retry-After (whole
 * seconds until the window ends). The hook runs after the API-key check (route
 * hooks follow the scope's), so refused requests are not counted.
 *
 * With REDIS_URL the counters live in Redis, so replicas enforce one limit
 * together. A Redis outage must not fail requests: while Redis is not connected,
 * or a command fails or times out, the request is counted in this process
 * instead (the plugin's own in-memory store), so each replica still enforces the
 * limit on its own (at most replicas × the limit overall) until Redis is back.
 * This is stricter than the plugin's skipOnError, which would stop limiting.
 */
import { createRequire } from 'node:module';
import rateLimit, { normalizeIP, type FastifyRateLimitStore } from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { ProblemError } from '../problem.js';
import { connectRedis, redisReady } from '../redis.js';

// The plugin's two stores, reused as they are (version pinned in package.json).
type StoreCtor<A extends unknown[]> = new (...args: A) => FastifyRateLimitStore;
const require = createRequire(import.meta.url);
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as StoreCtor<
  [continueExceeding: boolean, exponentialBackoff: boolean]
>;
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as StoreCtor<
  [continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, nameSpace: string]
>;

/** Redis key prefix of the counters (a `?keyPrefix=` in REDIS_URL goes before it). */
export const REDIS_NAMESPACE = 'derivd:rate-limit:';
const WINDOW_MS = 60_000;

/** A store class (the plugin constructs it) that counts in Redis when it can and locally otherwise. */
function sharedStore(redis: Redis): new () => FastifyRateLimitStore {
  const remote = new RedisStore(false, false, redis, REDIS_NAMESPACE);
  const local = new LocalStore(false, false);
  return class SharedStore implements FastifyRateLimitStore {
    incr(key: string, cb: Parameters<FastifyRateLimitStore['incr']>[1], timeWindow: number, max: number): void {
      if (redis.status !== 'ready') {
        local.incr(key, cb, timeWindow, max);
        return;
      }
      remote.incr(key, (err, res) => (err ? local.incr(key, cb, timeWindow, max) : cb(null, res)), timeWindow, max);
    }
    child(): FastifyRateLimitStore {
      throw new Error('derivd sets no per-route rate limits');
    }
  };
}

/** Every route of `scope` is rate-limited when RATE_LIMIT_PER_MINUTE is above 0. */
export async function rateLimits(scope: FastifyInstance, config: Config): Promise<void> {
  const max = config.rateLimitPerMinute;
  if (max === 0) return;
  const redis =
    config.redisUrl === null
      ? null
      : connectRedis(
          config.redisUrl,
          scope.log,
          {
            down: 'rate limits: Redis unreachable; counting in this process until it is back',
            back: 'rate limits: Redis is back; counters shared again',
          },
          500,
        ).redis;
  if (redis) {
    // Start counting in Redis from the first request when it is there; never wait long when it is not.
    scope.addHook('onReady', () => redisReady(redis));
    scope.addHook('onClose', async () => {
      redis.disconnect(); // no reconnecting after close; nothing is left to flush
    });
  }
  await scope.register(rateLimit, {
    global: true,
    max,
    timeWindow: WINDOW_MS,
    keyGenerator: (request) => (request.apiKeyDigest !== undefined ? `key:${request.apiKeyDigest}` : `ip:${normalizeIP(request.ip)}`),
    ...(redis ? { store: sharedStore(redis) } : {}),
    errorResponseBuilder: (request, { ttl }) =>
      new ProblemError(
        'rate_limited',
        `over RATE_LIMIT_PER_MINUTE (${max} requests per minute per ${request.apiKeyDigest !== undefined ? 'API key' : 'client address'}); retry in ${Math.max(1, Math.ceil(ttl / 1000))} s`,
      ),
  });
}

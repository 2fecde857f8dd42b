/**
 * The service's Redis clients (shared rate limits, stored graphs): clients that
 * never make a request wait for Redis, each outage logged once, and a bounded
 * wait at start-up so the first requests already use Redis when it is there.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';

/** Longest wait for Redis at start-up: a Redis that is not there must not hold the service. */
const READY_WAIT_MS = 2000;

export interface RedisLink {
  readonly redis: Redis;
  /** Reports a failed command: logged once per outage, like connection errors. */
  failed(err: Error): void;
}

/**
 * A client with no offline queue (a command while disconnected fails at once),
 * one try and a command timeout; ioredis keeps reconnecting in the background.
 * `what` names the feature in the outage and recovery log lines.
 */
export function connectRedis(
  url: string,
  log: FastifyBaseLogger,
  what: { down: string; back: string },
  commandTimeoutMs: number,
): RedisLink {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  let down = false;
  const failed = (err: Error): void => {
    if (!down) log.warn({ err: { message: err.message } }, what.down);
    down = true;
  };
  redis.on('error', failed);
  redis.on('ready', () => {
    if (down) log.info(what.back);
    down = false;
  });
  return { redis, failed };
}

/** Waits for `redis` to connect or give up, at most READY_WAIT_MS. */
export async function redisReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return;
  const settled = new AbortController();
  await Promise.race([
    once(redis, 'ready', { signal: settled.signal }),
    once(redis, 'end', { signal: settled.signal }),
    sleep(READY_WAIT_MS, undefined, { signal: settled.signal }),
  ]).catch(() => {});
  settled.abort();
}

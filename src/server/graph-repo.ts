/**
 * The service's stored graphs: the app's store (GRAPH_STORE_BYTES, on the main
 * thread only: a pooled call on a stored graph is sent to its worker with the graph inline), and with REDIS_URL a copy in Redis that every replica shares.
 *
 * Registering writes the canonical text to Redis under `derivd:graph:<id>` (a
 * `?keyPrefix=` in REDIS_URL goes before it) with a TTL of GRAPH_TTL_S, renewed
 * whenever a replica registers or loads it: a graph nobody uses for that long
 * leaves Redis, as it leaves the replicas' LRU stores. A replica that misses an id
 * locally reads Redis, recomputes the id from the text (integrity: a key that does
 * not hash to its id is ignored and logged), and keeps the graph.
 *
 * Redis down (not connected, a command failing or timing out): what is stored
 * locally is served; an id found nowhere is 404 unknown-graph (the client
 * registers it again, which works without Redis), never a 503: a request with
 * its graph inline never touches Redis. Each outage is logged once.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import { GraphStore, storedFromText, type StoredGraph } from '../api/index.js';

/** Redis key prefix of stored graphs. */
export const GRAPH_NAMESPACE = 'derivd:graph:';
/** How long a graph stays in Redis after it was last registered or loaded by a replica: 30 days. */
export const GRAPH_TTL_S = 30 * 24 * 3600;

export class GraphRepository {
  private readonly redis: Redis | null;
  private down = false;

  constructor(
    readonly store: GraphStore,
    redisUrl: string | null,
    private readonly log: FastifyBaseLogger,
  ) {
    this.redis = redisUrl === null ? null : this.connect(redisUrl);
  }

  private connect(url: string): Redis {
    const redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 1000,
      commandTimeout: 1000,
      retryStrategy: (times) => Math.min(times * 200, 2000),
      lazyConnect: false,
    });
    redis.on('error', (err: Error) => this.failed(err));
    redis.on('ready', () => {
      if (this.down) this.log.info('stored graphs: connected to Redis again; graphs shared');
      this.down = false;
    });
    return redis;
  }

  /** Logs an outage once, not each reconnect attempt or failed command. */
  private failed(err: Error): void {
    if (!this.down)
      this.log.warn({ err: { message: err.message } }, 'stored graphs: no connection to Redis; serving the graphs this process stores');
    this.down = true;
  }

  /** Waits (at most 2 s) for Redis to connect, so that the first requests already share graphs. */
  async ready(): Promise<void> {
    const redis = this.redis;
    if (!redis || redis.status === 'ready') return;
    const settled = new AbortController();
    await Promise.race([
      once(redis, 'ready', { signal: settled.signal }),
      once(redis, 'end', { signal: settled.signal }),
      sleep(2000, undefined, { signal: settled.signal }),
    ]).catch(() => {});
    settled.abort();
  }

  close(): void {
    this.redis?.disconnect();
  }

  /** Writes a registered graph to Redis (best effort: a failure is logged once, the graph is still stored here). */
  async share(stored: StoredGraph): Promise<void> {
    const redis = this.redis;
    if (redis?.status !== 'ready') return;
    try {
      await redis.set(GRAPH_NAMESPACE + stored.id, stored.text, 'EX', GRAPH_TTL_S);
    } catch (err) {
      this.failed(err as Error);
    }
  }

  /** The graph stored under `id`: here, else in Redis (checked and then kept here), else undefined. */
  async find(id: string): Promise<StoredGraph | undefined> {
    const local = this.store.get(id);
    if (local || !this.redis || this.redis.status !== 'ready') return local;
    let text: string | null;
    try {
      text = await this.redis.get(GRAPH_NAMESPACE + id);
    } catch (err) {
      this.failed(err as Error);
      return undefined;
    }
    if (text === null) return undefined;
    let stored: StoredGraph;
    try {
      stored = storedFromText(text);
    } catch {
      this.log.error({ graphId: id }, 'stored graphs: the Redis entry is not JSON; ignored');
      return undefined;
    }
    if (stored.id !== id) {
      this.log.error({ graphId: id, hashed: stored.id }, 'stored graphs: the Redis entry does not hash to its id; ignored');
      return undefined;
    }
    this.store.set(stored); // too large for this store: used for this request only
    this.redis.expire(GRAPH_NAMESPACE + id, GRAPH_TTL_S).catch((err: Error) => this.failed(err));
    return stored;
  }
}

/** An app's stored graphs: a store of its own (GRAPH_STORE_BYTES), and Redis with REDIS_URL. */
export function graphRepository(storeBytes: number, redisUrl: string | null, log: FastifyBaseLogger): GraphRepository {
  return new GraphRepository(new GraphStore(storeBytes), redisUrl, log);
}

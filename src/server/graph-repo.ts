/**
 * The service's stored graphs: the app's store (GRAPH_STORE_BYTES, on the main
 * thread only: a worker that needs a stored graph, or the graph of a call it was
 * handed, asks the main thread for it over its task's port), and with REDIS_URL a
 * copy in Redis that every replica shares.
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
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { GraphStore, storedFromText, type StoredGraph } from '../api/index.js';
import { connectRedis, redisReady, type RedisLink } from './redis.js';

/** Redis key prefix of stored graphs. */
export const GRAPH_NAMESPACE = 'derivd:graph:';
/** How long a graph stays in Redis after it was last registered or loaded by a replica: 30 days. */
export const GRAPH_TTL_S = 30 * 24 * 3600;

export class GraphRepository {
  private readonly link: RedisLink | null;

  constructor(
    readonly store: GraphStore,
    redisUrl: string | null,
    private readonly log: FastifyBaseLogger,
  ) {
    this.link =
      redisUrl === null
        ? null
        : connectRedis(
            redisUrl,
            log,
            {
              down: 'stored graphs: no connection to Redis; serving the graphs this process stores',
              back: 'stored graphs: connected to Redis again; graphs shared',
            },
            1000,
          );
  }

  private get redis(): Redis | null {
    return this.link?.redis ?? null;
  }

  private failed(err: Error): void {
    this.link?.failed(err);
  }

  /** Waits (at most 2 s) for Redis to connect, so that the first requests already share graphs. */
  async ready(): Promise<void> {
    if (this.redis) await redisReady(this.redis);
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

  /**
   * The graph stored under `id`, found here or in Redis (checked and then kept
   * here), or undefined: synchronously when it is here (no promise, no turn of the
   * microtask queue for the common case), else a promise.
   */
  find(id: string): StoredGraph | undefined | Promise<StoredGraph | undefined> {
    const local = this.store.get(id);
    if (local || !this.redis || this.redis.status !== 'ready') return local;
    return this.findShared(id);
  }

  /** The graph stored under `id` in Redis (checked and then kept here), or undefined. */
  private async findShared(id: string): Promise<StoredGraph | undefined> {
    let text: string | null;
    try {
      text = await (this.redis as Redis).get(GRAPH_NAMESPACE + id);
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
    (this.redis as Redis).expire(GRAPH_NAMESPACE + id, GRAPH_TTL_S).catch((err: Error) => this.failed(err));
    return stored;
  }
}

/** An app's stored graphs: a store of its own (GRAPH_STORE_BYTES), and Redis with REDIS_URL. */
export function graphRepository(storeBytes: number, redisUrl: string | null, log: FastifyBaseLogger): GraphRepository {
  return new GraphRepository(new GraphStore(storeBytes), redisUrl, log);
}

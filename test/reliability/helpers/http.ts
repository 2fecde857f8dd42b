/**
 * HTTP over 127.0.0.1 with node:http, every call bounded in time:
 *
 *   send(base, {method, path, body, headers, timeoutMs, agent, keepBytes})
 *                            one request; resolves with status, headers, the body (at
 *                            most keepBytes of it kept, all of it counted) and the time
 *                            to the last byte; rejects with NoAnswer after timeoutMs
 *   post(base, op, body)     POST /v1/<op> with a JSON body (object or raw text)
 *   probeHealth(base)        GET /healthz every 50 ms on a connection of its own while
 *                            something else happens; stop() gives the latencies (a probe
 *                            still unanswered after a grace period counts with its age)
 *   percentile(xs, p)        nearest-rank percentile (p99 of fewer than 100 samples is the max)
 *
 * fetch is not used: these tests need their own connections (a prober separate from
 * the load), raw bodies (1e999, gzip), headers such as Content-Encoding, and a hard
 * bound on every wait.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, or its first keepBytes bytes. */
  body: Buffer;
  /** Bytes received in all. */
  bytes: number;
  /** Milliseconds from the call to the last byte. */
  ms: number;
  /** Milliseconds from the call to the response headers. */
  headersMs: number;
  text(): string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** No (complete) answer within the bound. */
export class NoAnswer extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    readonly status?: number,
  ) {
    super(`${what}: no ${status === undefined ? 'answer' : `complete body (status ${status})`} within ${timeoutMs} ms`);
    this.name = 'NoAnswer';
  }
}

export interface SendOptions {
  method?: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Bound on the whole exchange (default 10 s). */
  timeoutMs?: number;
  /** Default: a fresh connection per call (agent: false). */
  agent?: Agent | false;
  /** Keep at most this many body bytes (default 4 MiB); the rest is counted and dropped. */
  keepBytes?: number;
}

export function send(base: string, o: SendOptions): Promise<Reply> {
  const method = o.method ?? (o.body === undefined ? 'GET' : 'POST');
  const timeoutMs = o.timeoutMs ?? 10_000;
  const keep = o.keepBytes ?? 4 * 1024 * 1024;
  const what = `${method} ${o.path}`;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    let status: number | undefined;
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
      headers['content-length'] = String(Buffer.byteLength(o.body));
    }
    const req = httpRequest(`${base}${o.path}`, { method, headers, agent: o.agent ?? false }, (res) => {
      status = res.statusCode ?? 0;
      const headersMs = performance.now() - t0;
      const chunks: Buffer[] = [];
      let kept = 0;
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (kept < keep) {
          const part = c.subarray(0, keep - kept);
          chunks.push(part);
          kept += part.length;
        }
      });
      res.once('end', () => {
        clearTimeout(timer);
        const body = Buffer.concat(chunks);
        resolve({
          status: status as number,
          headers: res.headers,
          body,
          bytes,
          ms: performance.now() - t0,
          headersMs,
          text: () => body.toString('utf8'),
          json: () => JSON.parse(body.toString('utf8')),
        });
      });
      res.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new NoAnswer(what, timeoutMs, status));
    }, timeoutMs);
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (o.body !== undefined) req.end(o.body);
    else req.end();
  });
}

export function post(base: string, op: string, body: unknown, o: Omit<SendOptions, 'path' | 'body'> = {}): Promise<Reply> {
  return send(base, {
    ...o,
    method: 'POST',
    path: `/v1/${op}`,
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(o.headers ?? {}) },
  });
}

/** Nearest-rank percentile of xs (NaN when empty). */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export interface ProbeStats {
  /** Latency of every probe in ms (unanswered ones: their age when stopped). */
  latencies: number[];
  /** Probes that got something other than 200, failed, or were still unanswered at stop(). */
  failures: number;
  /** Statuses other than 200, and error messages, as seen. */
  problems: string[];
  p50: number;
  p99: number;
  max: number;
}

export interface Prober {
  /**
   * Stops probing; waits up to graceMs (default 2 s) for probes still out, then
   * counts the ones still unanswered with their age as latency, as failures.
   */
  stop(graceMs?: number): Promise<ProbeStats>;
}

/**
 * GET /healthz every `everyMs` (default 50) on one keep-alive connection of its own,
 * each probe bounded by `timeoutMs`. Probes are issued on schedule, not after the
 * previous answer, so a stalled event loop shows as many slow probes, as a
 * liveness checker would see it.
 */
export function probeHealth(base: string, { everyMs = 50, timeoutMs = 30_000 } = {}): Prober {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  const problems: string[] = [];
  const pending = new Set<number>();
  let failures = 0;
  let stopped = false;
  let settle: (() => void) | undefined;
  const probe = (): void => {
    const t0 = performance.now();
    pending.add(t0);
    const done = (ms: number, problem?: string): void => {
      if (!pending.delete(t0)) return; // counted as unanswered already
      latencies.push(ms);
      if (problem !== undefined) {
        failures++;
        problems.push(problem);
      }
      if (pending.size === 0) settle?.();
    };
    send(base, { path: '/healthz', agent, timeoutMs }).then(
      (r) => done(r.ms, r.status === 200 ? undefined : `status ${r.status}`),
      (err: Error) => done(performance.now() - t0, err.message),
    );
  };
  probe();
  const timer = setInterval(probe, everyMs);
  return {
    async stop(graceMs = 2_000) {
      if (!stopped) {
        stopped = true;
        clearInterval(timer);
        if (pending.size > 0) {
          await new Promise<void>((resolve) => {
            settle = resolve;
            setTimeout(resolve, graceMs);
          });
        }
        const now = performance.now();
        for (const t0 of pending) {
          latencies.push(now - t0);
          failures++;
          problems.push(`unanswered ${graceMs} ms after probing stopped`);
        }
        pending.clear();
        agent.destroy();
      }
      return {
        latencies,
        failures,
        problems: problems.slice(0, 10),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: latencies.length ? Math.max(...latencies) : NaN,
      };
    },
  };
}

/** "p99 12.3 ms, max 45.6 ms over 87 probes, 0 failed" */
export function describeProbes(s: ProbeStats): string {
  return `/healthz p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms over ${s.latencies.length} probes, ${s.failures} failed${s.problems.length ? ` (${s.problems.slice(0, 3).join('; ')})` : ''}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves with p, or rejects after ms with a message naming `what`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
    }),
  ]);
}

/**
 * Graceful shutdown within SHUTDOWN_TIMEOUT_MS (main.ts runs it on SIGTERM/SIGINT;
 * close-with-grace exits 1 if it overruns, 0 once it resolves):
 *
 *   at once      app.close(): /readyz 503 (draining), the listener closes, idle
 *                keep-alive sockets are closed (Node's server.close), queued pooled
 *                requests get 503 shutting-down (preClose), compute requests that
 *                still arrive get the same with Connection: close (admission.ts),
 *                and requests already computing go on; every response sent while
 *                draining closes its connection.
 *   deadline − margin      pooled computations still running are cut: 503
 *                shutting-down, rather than an exit 1 that would reset them.
 *   deadline − margin / 2  connections still open (a client still sending its body,
 *                or reading slowly) are closed, so the server can close in time.
 *
 * The margin is a quarter of the timeout, at most 2 s: time to answer the cut
 * requests, terminate the workers and exit.
 */
import type { App } from './app.js';

export function shutdownMarginMs(timeoutMs: number): number {
  return Math.min(2000, timeoutMs / 4);
}

export async function shutdown({ app, pool }: Pick<App, 'app' | 'pool'>, timeoutMs: number): Promise<void> {
  const margin = shutdownMarginMs(timeoutMs);
  const cut = setTimeout(() => {
    if (pool && pool.running + pool.queued > 0)
      app.log.warn({ running: pool.running }, 'shutdown deadline near: cutting pooled computations still running');
    pool?.cut();
  }, timeoutMs - margin);
  const force = setTimeout(() => app.server.closeAllConnections(), timeoutMs - margin / 2);
  try {
    await app.close();
  } finally {
    clearTimeout(cut);
    clearTimeout(force);
  }
}

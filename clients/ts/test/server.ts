/**
 * A real derivd listening on 127.0.0.1 for the client tests (the tests may import
 * the server's source; the client itself never does). `restart()` replaces the
 * server with a fresh one, which has no stored graphs: what a client sees when the
 * service restarts. The client talks to `url` through `fetch`, which forwards to
 * whichever server is current and records every request.
 */
import { afterAll, beforeAll } from 'vitest';
import { type App, buildApp } from '../../../src/server/app.js';
import { DEFAULT_CONFIG } from '../../../src/server/config.js';

export interface TestServer {
  /** The URL to give the client; requests to it reach the current server. */
  readonly url: string;
  /** The current server's own URL (changes on restart). */
  base(): string;
  /** Every request the client made, as `METHOD path`. */
  readonly requests: string[];
  fetch(input: string, init: RequestInit): Promise<Response>;
  restart(): Promise<void>;
}

const URL_BASE = 'http://derivd.test';

export function useServer(): TestServer {
  let app: App | undefined;
  let base = '';
  const start = async (): Promise<void> => {
    // No worker pool: every call runs inline, which keeps the test light.
    app = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent', workers: 0 });
    base = await app.app.listen({ host: '127.0.0.1', port: 0 });
  };
  const server: TestServer = {
    url: URL_BASE,
    requests: [],
    base: () => base,
    fetch(input, init) {
      if (!input.startsWith(URL_BASE)) throw new Error(`unexpected URL ${input}`);
      const path = input.slice(URL_BASE.length);
      server.requests.push(`${init.method ?? 'GET'} ${path}`);
      return globalThis.fetch(base + path, init);
    },
    async restart() {
      await app?.app.close();
      await start();
    },
  };
  beforeAll(start);
  afterAll(async () => {
    await app?.app.close();
  });
  return server;
}

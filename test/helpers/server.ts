/**
 * Shared pieces of the HTTP tests:
 *   matmulRequest(n)   a request with no body data that costs n³ flops: sum(fill(n×n, 0.5) · fill(n×n, 2)) = n³
 *   useApps()          an appWith(config, logStream?) that builds apps (silent logs) and closes them after each test
 */
import { afterEach } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import { DEFAULT_CONFIG, type Config } from '../../src/server/config.js';

export const matmulRequest = (n: number) => ({
  graph: {
    inputs: [],
    nodes: [
      { id: 'a', op: 'fill', shape: [n, n], value: 0.5 },
      { id: 'b', op: 'fill', shape: [n, n], value: 2 },
      { id: 'p', op: 'matmul', args: ['a', 'b'] },
      { id: 's', op: 'sum', args: ['p'] },
    ],
    outputs: ['s'],
  },
  args: {},
});

export function useApps(): (config?: Partial<Config>, logStream?: NodeJS.WritableStream) => Promise<App> {
  const open: App[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((a) => a.app.close()));
  });
  return async (config = {}, logStream) => {
    const a = await buildApp({ ...DEFAULT_CONFIG, logLevel: 'silent', ...config }, logStream);
    open.push(a);
    return a;
  };
}

/**
 * Shared pieces of the HTTP tests (heavy requests are in requests.ts):
 *   useApps()          an appWith(config, logStream?) that builds apps (silent logs) and closes them after each test
 */
import { afterEach } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import { DEFAULT_CONFIG, type Config } from '../../src/server/config.js';

export { matmulRequest } from './requests.js';

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

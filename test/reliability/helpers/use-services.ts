/**
 * useServices(): startService for tests, with every process it started killed
 * (SIGKILL) after each test, so a failed or timed-out scenario cannot leave a
 * stalled service behind for the next one.
 */
import { afterEach } from 'vitest';
import { startService, type Service, type StartOptions } from './service.js';

export function useServices(): (env?: Record<string, string>, options?: StartOptions) => Promise<Service> {
  const started: Service[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.kill()));
  }, 15_000);
  return async (env = {}, options = {}) => {
    const s = await startService(env, options);
    started.push(s);
    return s;
  };
}

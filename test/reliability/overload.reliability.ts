/**
 * Finding 6: admission control. The default configuration (WORKERS=auto: one worker
 * per core) under 200 connections of pooled gradients that each take about 130 ms
 * to compute, for 8 s: far more than the workers can do, so the service must shed
 * load early and cleanly instead of queueing without bound:
 *
 *   - some answers are 503, each with Retry-After (whole seconds) and the problem type
 *     urn:derivd:problem:overloaded; no other 5xx;
 *   - /healthz, polled every 50 ms on a connection of its own throughout, keeps a p99
 *     under 100 ms (liveness is never shed and never waits behind compute);
 *   - 2 s after the load stops, a small request (the seed Jacobian) is answered within
 *     500 ms: nothing of the overload lingers.
 *
 * And the other side: with 8 concurrent ordinary requests (the same gradient) the
 * service never answers 503 (shedding is for saturation only).
 *
 * The gradient is matmulGradient(n), with n sized on this machine at the start of
 * each test (helpers/calibrate.ts). The load comes from autocannon in a worker thread
 * (helpers/load.ts); the prober runs on the test's own event loop.
 */
import { describe, expect, test } from 'vitest';
import { sizeMatmulGradient } from './helpers/calibrate.js';
import { seedJacobian } from './helpers/graphs.js';
import { describeProbes, post, probeHealth, sleep } from './helpers/http.js';
import { cannon, describeLoad } from './helpers/load.js';
import { PROBLEM } from './helpers/problem.js';
import { useServices } from './helpers/use-services.js';

const start = useServices();

const COMPUTE_MS = 130;

describe('finding 6: admission control under overload (default configuration)', () => {
  test('200 connections × 8 s of ~130 ms pooled gradients: 503 overloaded with Retry-After, no other 5xx, /healthz p99 < 100 ms, recovered 2 s later', async () => {
    const svc = await start();
    const sized = await sizeMatmulGradient(svc.base, COMPUTE_MS);
    const prober = probeHealth(svc.base);
    const load = await cannon({ base: svc.base, path: '/v1/gradient', body: sized.body, connections: 200, seconds: 8 });
    const probes = await prober.stop(5_000);
    await sleep(2_000);
    const after = await post(svc.base, 'jacobian', seedJacobian(), { timeoutMs: 10_000 }).catch((e: Error) => e);
    const afterText = after instanceof Error ? after.message : `${after.status} in ${after.ms.toFixed(0)} ms`;
    console.log(
      `[finding 6] n = ${sized.n} (${sized.ms.toFixed(0)} ms warm), 200 connections × 8 s: ${describeLoad(load)}; ${describeProbes(probes)}; seed Jacobian 2 s later: ${afterText}`,
    );

    expect.soft(load.statuses['503'] ?? 0, `some 503s (${describeLoad(load)})`).toBeGreaterThan(0);
    expect.soft(load.types503, '503 problem types').toEqual(load.statuses['503'] ? { [PROBLEM.overloaded]: load.statuses['503'] } : {});
    expect.soft(load.without503RetryAfter, '503s without Retry-After').toBe(0);
    expect.soft(load.other5xx, '5xx other than 503').toEqual([]);
    expect.soft(probes.p99, describeProbes(probes)).toBeLessThan(100);
    expect.soft(after instanceof Error ? 0 : after.status, `seed Jacobian 2 s after the load: ${afterText}`).toBe(200);
    expect.soft(after instanceof Error ? Infinity : after.ms, `seed Jacobian 2 s after the load: ${afterText}`).toBeLessThan(500);
  }, 90_000);

  test('8 concurrent ordinary requests for 5 s: never a 503', async () => {
    const svc = await start();
    const sized = await sizeMatmulGradient(svc.base, COMPUTE_MS);
    const load = await cannon({ base: svc.base, path: '/v1/gradient', body: sized.body, connections: 8, seconds: 5 });
    console.log(`[finding 6] n = ${sized.n}, 8 connections × 5 s: ${describeLoad(load)}`);
    expect(load.responses).toBeGreaterThan(0);
    expect(load.statuses, describeLoad(load)).toEqual({ 200: load.responses });
    expect(load.errors + load.timeouts).toBe(0);
  }, 60_000);
});

/**
 * The engine plug, used as a third party would: an engine of our own (central
 * differences with Richardson extrapolation, test/fixtures/richardson-engine.mjs),
 * registered through the public API, called by name in the library and over HTTP
 * (inline and in a worker), listed in /openapi.json's mode enum and in the
 * errors' list of modes. Its answers are checked against the seed problem's
 * analytic derivatives.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import * as derivd from '../src/index.js';
import { loadEngineModules } from '../src/server/engine-modules.js';
import { expectClose } from './helpers/numeric.js';
import { d, drdd, drdxs, dsdd, dsdxs, graph, scalarGraph, sdd, sdx, sxx, xs } from './helpers/seed.js';
import { useApps } from './helpers/server.js';

const ENGINE = fileURLToPath(new URL('./fixtures/richardson-engine.mjs', import.meta.url));
/** Richardson-extrapolated differences: O(h⁴) truncation, about 1e-11 here; second derivatives about 1e-8. */
const FIRST_REL = 1e-9;
const SECOND_REL = 1e-6;

beforeAll(async () => {
  expect(await loadEngineModules([ENGINE])).toEqual(['richardson']);
});

describe('an engine of our own, in the library', () => {
  test('it is registered by name next to the built-in engines', () => {
    expect(derivd.engineNames()).toEqual(['forward', 'reverse', 'fd', 'richardson']);
    expect(derivd.findEngine('richardson')?.jvp).toBeUndefined(); // it computes Jacobians and Hessians only
  });

  test('jacobian: the seed problem, against its analytic derivative', async () => {
    const r = await derivd.jacobian({ graph, args: { d, xs }, mode: 'richardson' });
    expect(r.mode).toBe('richardson');
    expect(r.reason).toBe('mode "richardson" was requested');
    expect(r.stats.directions).toBe(4 * 22); // four evaluations pairs per active element
    expectClose(r.jacobian.r.xs, drdxs, FIRST_REL);
    expectClose(r.jacobian.r.d, drdd, FIRST_REL);
  });

  test('jvp and vjp: derivd contracts its full Jacobian', async () => {
    const t = d.map((_, i) => Math.cos(i));
    const j = await derivd.jvp({ graph, args: { d, xs }, mode: 'richardson', tangents: { d: t, xs: 0.5 } });
    const jvpRef = drdd.map((row, i) => row.reduce((s, v, k) => s + v * t[k], 0) + drdxs[i] * 0.5);
    expectClose(j.jvp.r, jvpRef, FIRST_REL);
    const v = await derivd.vjp({ graph, args: { d, xs }, constant: ['d'], mode: 'richardson', cotangents: { r: t } });
    expectClose(v.vjp.xs, [drdxs.reduce((s, g, i) => s + g * t[i], 0)], FIRST_REL);
  });

  test('hessian and hvp of s = Σ r², against the analytic Hessian', async () => {
    const h = await derivd.hessian({ graph: scalarGraph, args: { d, xs }, mode: 'richardson' });
    expectClose(h.hessian.xs.xs, [sxx], SECOND_REL);
    expectClose(h.hessian.d.d, sdd, SECOND_REL);
    expectClose(h.hessian.d.xs, sdx, SECOND_REL);
    const u = d.map((_, i) => (i % 3) - 1);
    const p = await derivd.hvp({ graph: scalarGraph, args: { d, xs }, mode: 'richardson', vector: { d: u, xs: 2 } });
    const hvpD = sdd.map((row, i) => row.reduce((s, v, k) => s + v * u[k], 0) + sdx[i] * 2);
    expectClose(p.hvp.d, hvpD, SECOND_REL);
    const g = await derivd.gradient({ graph: scalarGraph, args: { d, xs }, mode: 'richardson' });
    expectClose(g.gradient.d, dsdd, FIRST_REL);
    expectClose(g.gradient.xs, [dsdxs], FIRST_REL);
  });

  test('check compares it against fd, and a prepared call prices it without an estimate of its own', async () => {
    const r = await derivd.jacobian({ graph, args: { d, xs }, mode: 'richardson', check: true });
    expect(r.check?.maxRelError).toBeLessThan(1e-7);
    const call = derivd.prepare('jacobian', { graph, args: { d, xs }, mode: 'richardson' });
    const cost = call.cost();
    expect(cost.ms).toBeGreaterThan(0);
    expect(cost.resultElements).toBe(21 + 21 * 22);
  });

  test('an unknown mode lists it among the modes', async () => {
    const err = await derivd.jacobian({ graph, args: { d, xs }, mode: 'richards' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(derivd.DerivdError);
    expect((err as derivd.DerivdError).issues).toEqual([
      { path: 'mode', message: 'unknown mode "richards": expected one of "auto", "forward", "reverse", "fd", "richardson"' },
    ]);
  });

  test('registerEngine refuses a taken name and an engine without a Jacobian', () => {
    expect(() => derivd.registerEngine({ ...(derivd.findEngine('richardson') as derivd.Engine) })).toThrow(/taken/);
    expect(() =>
      derivd.registerEngine({ name: 'half', hessian: () => ({ blocks: [], directions: 0 }) } as unknown as derivd.Engine),
    ).toThrow(/no jacobian\(\)/);
    expect(() => derivd.registerEngine({ name: 'Bad Name' } as unknown as derivd.Engine)).toThrow(/lower-case/);
  });
});

describe('an engine of our own, over HTTP (ENGINE_MODULES)', () => {
  const appWith = useApps();
  const body = { graph, args: { d, xs }, constant: ['d'], mode: 'richardson' };

  test('inline and in a worker, the same answer', async () => {
    const inline = await appWith({ engineModules: [ENGINE], workers: 0 });
    const a = await inline.app.inject({ method: 'POST', url: '/v1/jacobian', payload: body });
    expect(a.statusCode).toBe(200);
    expect(a.json().mode).toBe('richardson');
    expectClose(a.json().jacobian.r.xs, drdxs, FIRST_REL);

    // INLINE_MAX_COST_MS 0: every call goes to the pool, whose worker loads ENGINE_MODULES itself
    const pooled = await appWith({ engineModules: [ENGINE], workers: 1, inlineMaxCostMs: 0 });
    const b = await pooled.app.inject({ method: 'POST', url: '/v1/jacobian', payload: body });
    expect(b.statusCode).toBe(200);
    expect(b.headers['server-timing']).toMatch(/queue;dur=/); // it ran in a worker
    expect(b.json().jacobian).toEqual(a.json().jacobian);
  });

  test('/openapi.json lists it in the mode enums; an unknown mode lists it in the 400', async () => {
    const { app } = await appWith({ engineModules: [ENGINE], workers: 0 });
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const requestMode = doc.components.schemas.JacobianRequest.properties.mode;
    expect(requestMode.enum).toEqual(['auto', 'forward', 'reverse', 'fd', 'richardson']);
    const resultMode = doc.paths['/v1/gradient'].post.responses['200'].content['application/json'].schema.properties.mode;
    expect(resultMode.enum).toEqual(['forward', 'reverse', 'fd', 'richardson']);
    const res = await app.inject({ method: 'POST', url: '/v1/jacobian', payload: { ...body, mode: 'nope' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([
      { path: 'mode', message: 'unknown mode "nope": expected one of "auto", "forward", "reverse", "fd", "richardson"' },
    ]);
  });
});

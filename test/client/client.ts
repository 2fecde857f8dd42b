/**
 * A client as a derivd user writes one: types generated from openapi.yaml by
 * openapi-typescript (test/client/generated/, written by openapi-client.test.ts
 * on every run, not committed), calls made with openapi-fetch. The test
 * type-checks this file strictly (its own tsconfig, on its own: the generated
 * types exist only once the test has written them), then runs it against a
 * listening service. The `@ts-expect-error` lines are part of the check: if a
 * request body's type collapsed to any or undefined (openapi-fetch's recursive-
 * schema trap: see Tensor in src/tensor/nested.ts), they would stop being errors
 * and tsc would fail on them.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './generated/api.js';

type Tensor = components['schemas']['Tensor'];
type Problem = components['schemas']['Problem'];

/** f(x, s) = (x · x) e^s, the function of the documented examples (src/server/examples.ts), written out again here. */
const graph: components['schemas']['Graph'] = {
  inputs: [
    { name: 'x', shape: [3] },
    { name: 's', shape: [] },
  ],
  nodes: [
    { id: 'q', op: 'dot', args: ['x', 'x'] },
    { id: 'e', op: 'exp', args: ['s'] },
    { id: 'f', op: 'mul', args: ['q', 'e'] },
  ],
  outputs: ['f'],
};

export interface Answers {
  health: string | undefined;
  evaluate: Tensor | undefined;
  jacobian: { x: Tensor | undefined; s: Tensor | undefined };
  gradient: { x: Tensor | undefined; s: Tensor | undefined };
  jvp: Tensor | undefined;
  vjp: { x: Tensor | undefined; s: Tensor | undefined };
  hessian: { xx: Tensor | undefined; xs: Tensor | undefined; ss: Tensor | undefined };
  hvp: { x: Tensor | undefined; s: Tensor | undefined };
  explained: { operation: string | undefined; nodes: number | undefined; active: boolean[] };
  registered: { status: number; id: string | undefined; nodes: number | undefined };
  stored: { nodes: number | undefined; gradient: Tensor | undefined };
  problem: { status: number; type: Problem['type'] | undefined; paths: string[] };
  statuses: number[];
}

/** Whatever a tensor entry of a result is: nested (the default encoding) here. */
const nested = (v: Tensor | components['schemas']['Base64Tensor'] | undefined): Tensor | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? undefined : v;
const block = (v: Tensor | components['schemas']['Base64Tensor'] | components['schemas']['CooBlock'] | undefined): Tensor | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? undefined : v;

export async function callEveryOperation(baseUrl: string): Promise<Answers> {
  const client = createClient<paths>({ baseUrl });
  const statuses: number[] = [];
  const seen = <T extends { response: Response }>(r: T): T => {
    statuses.push(r.response.status);
    return r;
  };
  const args = { x: [1, 2, 3], s: 0.5 };

  const health = seen(await client.GET('/healthz'));
  const evaluate = seen(await client.POST('/v1/evaluate', { body: { graph, args } }));
  const jacobian = seen(await client.POST('/v1/jacobian', { body: { graph, args, mode: 'forward' } }));
  const gradient = seen(await client.POST('/v1/gradient', { body: { graph, args, mode: 'reverse' } }));
  const jvp = seen(await client.POST('/v1/jvp', { body: { graph, args, tangents: { x: [1, 0, 0], s: 0 } } }));
  const vjp = seen(await client.POST('/v1/vjp', { body: { graph, args, cotangents: { f: 1 } } }));
  const hessian = seen(await client.POST('/v1/hessian', { body: { graph, args } }));
  const hvp = seen(await client.POST('/v1/hvp', { body: { graph, args, vector: { x: [1, 0, 0], s: 1 } } }));

  const explained = seen(await client.POST('/v1/explain', { body: { operation: 'hessian', graph, args } }));

  const registered = await client.POST('/v1/graphs', { body: { graph } });
  const id = registered.data?.id ?? '';
  const stored = seen(await client.GET('/v1/graphs/{id}', { params: { path: { id } } }));
  const storedGradient = seen(await client.POST('/v1/graphs/{id}/gradient', { params: { path: { id } }, body: { args } }));

  // A problem, typed: its `type` is the enum of derivd's problem types.
  const bad = await client.POST('/v1/evaluate', { body: { graph: { ...graph, outputs: ['nowhere'] }, args } });

  return {
    health: health.data?.status,
    evaluate: nested(evaluate.data?.values.f),
    jacobian: { x: block(jacobian.data?.jacobian.f?.x), s: block(jacobian.data?.jacobian.f?.s) },
    gradient: { x: nested(gradient.data?.gradient.x), s: nested(gradient.data?.gradient.s) },
    jvp: nested(jvp.data?.jvp.f),
    vjp: { x: nested(vjp.data?.vjp.x), s: nested(vjp.data?.vjp.s) },
    hessian: {
      xx: block(hessian.data?.hessian.x?.x),
      xs: block(hessian.data?.hessian.x?.s),
      ss: block(hessian.data?.hessian.s?.s),
    },
    hvp: { x: nested(hvp.data?.hvp.x), s: nested(hvp.data?.hvp.s) },
    explained: {
      operation: explained.data?.operation,
      nodes: explained.data?.nodes.length,
      active: explained.data?.inputs.map((i) => i.active) ?? [],
    },
    registered: { status: registered.response.status, id: registered.data?.id, nodes: registered.data?.nodes },
    stored: { nodes: stored.data?.graph.nodes?.length, gradient: nested(storedGradient.data?.gradient.x) },
    problem: { status: bad.response.status, type: bad.error?.type, paths: bad.error?.errors?.map((e) => e.path) ?? [] },
    statuses,
  };
}

/** Never called: what must not compile, so that the types are known to say something. */
export async function typeChecks(baseUrl: string): Promise<void> {
  const client = createClient<paths>({ baseUrl });
  // @ts-expect-error mode is an enum of auto and the registered engines
  await client.POST('/v1/gradient', { body: { graph, args: { x: [1, 2, 3], s: 0.5 }, mode: 'sideways' } });
  // @ts-expect-error a tensor is numbers (or "NaN", "Infinity", "-Infinity"), not any string
  await client.POST('/v1/gradient', { body: { graph, args: { x: ['one', 2, 3], s: 0.5 } } });
  // @ts-expect-error args is required
  await client.POST('/v1/gradient', { body: { graph } });
  // @ts-expect-error jvp needs tangents
  await client.POST('/v1/jvp', { body: { graph, args: { x: [1, 2, 3], s: 0.5 } } });
  // @ts-expect-error no such operation
  await client.POST('/v1/integrate', { body: { graph } });
  // @ts-expect-error explain takes one of the operations
  await client.POST('/v1/explain', { body: { operation: 'integrate', graph } });
  const { error } = await client.POST('/v1/evaluate', { body: { graph, args: { x: [1, 2, 3], s: 0.5 } } });
  // @ts-expect-error a problem type is one of derivd's, not any string
  const unknownType: Problem['type'] = 'urn:derivd:problem:whatever';
  void [error?.title, unknownType];
}

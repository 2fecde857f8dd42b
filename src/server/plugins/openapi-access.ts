/**
 * What access control adds to the OpenAPI document: the bearer security schemes,
 * and on every compute operation the optional API key, the 401 and 429 answers
 * (with their WWW-Authenticate and Retry-After headers) and the Content-Encoding
 * case of 415. Done on the generated document (not in the route schemas) because
 * the zod transform keeps only description and content of a response, and so
 * that compute.ts's own response list stays as it is.
 *
 * The document is the same whatever the configuration (it is committed as
 * openapi.yaml): keys and limits are off by default, so the key is optional
 * (`security: [{apiKey: []}, {}]`) and the 401/429 say when they apply.
 */
import type { OpenAPIV3_1 } from 'openapi-types';

export function withAccessControl(doc: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  doc.components = {
    ...doc.components,
    securitySchemes: {
      ...doc.components?.securitySchemes,
      apiKey: {
        type: 'http',
        scheme: 'bearer',
        description:
          'An API key, required on /v1/* when the service is configured with API_KEYS (off by default). derivd stores only SHA-256 digests of keys.',
      },
      metricsToken: {
        type: 'http',
        scheme: 'bearer',
        description: 'The token /metrics requires when METRICS_TOKEN is set (off by default).',
      },
    },
  };
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    // Every /v1/* route is behind the key and the limits: the posts, and GET /v1/graphs/{id}.
    const op = path.startsWith('/v1/') ? (item?.post ?? item?.get) : path === '/metrics' ? item?.get : undefined;
    if (!op?.responses) continue;
    // (openapi-types' 3.1 response type does not accept its own objects; a plain record does)
    const responses = op.responses as Record<string, OpenAPIV3_1.ResponseObject | undefined>;
    // The compute operations' problem answers all share one content (the Problem schema).
    const problemContent = responses['400']?.content ?? {
      'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
    };
    const unauthorized: OpenAPIV3_1.ResponseObject = {
      description:
        path === '/metrics'
          ? 'METRICS_TOKEN is set and the bearer token is missing or wrong'
          : 'API_KEYS is set and the API key is missing or wrong',
      headers: {
        'WWW-Authenticate': {
          description: 'Bearer, with error="invalid_token" when a wrong token was sent (RFC 6750)',
          schema: { type: 'string' },
        },
      }, // (fresh objects: shared ones become YAML anchors)
      content: structuredClone(problemContent),
    };
    if (path === '/metrics') {
      op.security = [{ metricsToken: [] }, {}];
      responses['401'] = unauthorized;
      continue;
    }
    op.security = [{ apiKey: [] }, {}];
    responses['401'] = unauthorized;
    responses['429'] = {
      description: 'Over RATE_LIMIT_PER_MINUTE for this API key (or client address without keys)',
      headers: { 'Retry-After': { description: 'whole seconds until the window ends', schema: { type: 'integer' } } },
      content: structuredClone(problemContent),
    };
    const r415 = responses['415'];
    if (r415)
      r415.description +=
        ', or the body has a Content-Encoding other than gzip, deflate, br or identity, or more than one (urn:derivd:problem:unsupported-content-encoding)';
  }
  return doc;
}

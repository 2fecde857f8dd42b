/**
 * What access control adds to the OpenAPI document: for now, the Content-Encoding
 * case of 415 on every compute operation. Done on the generated document (not in
 * the route schemas) so that compute.ts's own response list stays as it is.
 */
import type { OpenAPIV3_1 } from 'openapi-types';

export function withAccessControl(doc: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    const op = path.startsWith('/v1/') ? item?.post : undefined;
    if (!op?.responses) continue;
    // (openapi-types' 3.1 response type does not accept its own objects; a plain record does)
    const responses = op.responses as Record<string, OpenAPIV3_1.ResponseObject | undefined>;
    const r415 = responses['415'];
    if (r415) r415.description += ', or the body has a Content-Encoding other than identity (urn:derivd:problem:unsupported-content-encoding)';
  }
  return doc;
}

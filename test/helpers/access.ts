/**
 * Shared pieces of the access-control tests:
 *   tinyRequest           a valid /v1/evaluate body, as JSON text
 */

export const tinyRequest = JSON.stringify({ graph: { inputs: [{ name: 'x', shape: [] }], nodes: [{ id: 'y', op: 'square', args: ['x'] }], outputs: ['y'] }, args: { x: 3 } });

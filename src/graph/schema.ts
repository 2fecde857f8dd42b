/**
 * The public wire contract in zod: the graph and the request envelope. zod checks
 * structure (types, known ops, known attributes); graph/check.ts checks meaning.
 *
 * Maps keyed by argument or output name (args, tangents, ...) are read from the
 * request's own keys, not rebuilt by zod, because zod drops a `__proto__` key and
 * names are plain data here.
 */
import { z } from 'zod';
import { describe, NestedValueSchema, isPacked, type PackedTensor, type NestedValue } from '../tensor/nested.js';
import { WIRE_OPS } from '../ops/registry.js';
import { Base64TensorSchema, type Base64Tensor } from '../tensor/base64.js';

export const NameSchema = z.string().min(1);
export const ShapeSchema = z.array(z.number().int().nonnegative());

export const InputSchema = z.object({ name: NameSchema, shape: ShapeSchema }).strict();

const ArgSchema = z.union([NameSchema, z.number()]);

/**
 * Each variant is titled by its op, so documentation names it: Swagger UI heads each
 * variant of Node with it ("#2 Add"), where it showed only "object". (Its one-line
 * label of the union still lists the members' types: it does not read titles.)
 */
function nodeSchemaFor(op: (typeof WIRE_OPS)[number]) {
  return z
    .object({ id: NameSchema, op: z.literal(op.name), args: z.array(ArgSchema).optional(), ...op.attrs })
    .strict()
    .meta({ title: op.name });
}

export const NodeSchema = z
  .discriminatedUnion(
    'op',
    WIRE_OPS.map(nodeSchemaFor) as unknown as [ReturnType<typeof nodeSchemaFor>, ...ReturnType<typeof nodeSchemaFor>[]],
  )
  .meta({ id: 'Node', description: 'One operation: its id, its op, its arguments (ids or number literals) and its attributes' });

/** Formulas by name (graph/formula.ts): each becomes nodes, its root named after it. */
const DefineSchema = z.record(NameSchema, z.string()).meta({
  id: 'Define',
  description:
    'formulas by name, e.g. {"f": "exp(-1.5*(x - xs)^2)"}: each is expanded to nodes, the last named after the definition; names share the namespace of inputs and node ids',
});

export const FunctionSchema = z
  .object({
    inputs: z.array(InputSchema).describe("the function's parameters, by name and shape; call and scan arguments bind to them by position"),
    nodes: z.array(NodeSchema).optional().describe('operations, in any order; names are local to the function (default: none)'),
    define: DefineSchema.optional().describe("formulas over the function's inputs, nodes and other definitions (default: none)"),
    outputs: z.array(NameSchema).length(1).describe('the one node or input the function returns'),
  })
  .strict()
  .meta({ id: 'Function', description: 'A sub-graph with one output, which call and scan nodes name' });

export const GraphSchema = z
  .object({
    inputs: z.array(InputSchema).describe('the arguments, by name and shape ([] is a scalar)'),
    nodes: z.array(NodeSchema).optional().describe('operations, in any order (default: none)'),
    define: DefineSchema.optional().describe('formulas over inputs, node ids and other definitions, in any order (default: none)'),
    outputs: z.array(NameSchema).min(1).describe('ids of the nodes, definitions or inputs to return'),
    functions: z
      .record(NameSchema, FunctionSchema)
      .optional()
      .describe('sub-graphs by name, which call and scan nodes name in their `function` attribute (default: none)'),
  })
  .strict()
  .meta({ id: 'Graph' });

/** One node on the wire: its id, op, arguments and attributes. */
export type WireNode = { id: string; op: string; args?: (string | number)[] } & Record<string, unknown>;
type WireNodes = WireNode[];

export type WireFunction = {
  inputs: { name: string; shape: number[] }[];
  nodes?: WireNodes;
  /** Formulas by name (see graph/formula.ts). */
  define?: Record<string, string>;
  outputs: string[];
};

export type WireGraph = {
  inputs: { name: string; shape: number[] }[];
  nodes?: WireNodes;
  /** Formulas by name (see graph/formula.ts). */
  define?: Record<string, string>;
  outputs: string[];
  functions?: Record<string, WireFunction>;
};

/** A graph in node form (no formulas): what tools that build or rewrite nodes hold. */
export type NodeGraph = Omit<WireGraph, 'nodes' | 'define' | 'functions'> & {
  nodes: WireNode[];
  functions?: Record<string, Omit<WireFunction, 'nodes' | 'define'> & { nodes: WireNode[] }>;
};

/** A tensor on the wire (nested or base64), or the library's packed {shape, data: Float64Array} form. */
export type TensorInput = NestedValue | Base64Tensor | PackedTensor;
export const TensorInputSchema = z.union([NestedValueSchema, Base64TensorSchema, z.custom<PackedTensor>(isPacked)]);

/** An object keyed by names; its values are parsed as tensors with exact paths. */
export const TensorMapSchema = z
  .custom<Record<string, TensorInput>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v) && !isPacked(v), {
    error: (iss) =>
      iss.input === undefined
        ? 'missing: expected an object keyed by name'
        : `expected an object keyed by name, found ${describe(iss.input)}`,
  })
  .meta({
    type: 'object',
    additionalProperties: { anyOf: [{ $ref: '#/components/schemas/Tensor' }, { $ref: '#/components/schemas/Base64Tensor' }] },
  } as Record<string, unknown>);

/** How result tensors are written: nested JSON numbers (default) or the base64 form. */
export const ENCODINGS = ['json', 'base64'] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** How Jacobian and Hessian blocks are written: dense tensors (default), or their structurally non-zero entries. */
export const FORMATS = ['dense', 'coo'] as const;
export type JacobianFormat = (typeof FORMATS)[number];
const FormatSchema = z
  .enum(FORMATS)
  .optional()
  .describe(
    'how Jacobian (Hessian) blocks are written: dense (default) or coo ({shape, rows, cols, values}: the structurally non-zero entries, rows flat in the output (first input), cols flat in the input (second))',
  );

/**
 * 'auto' or an engine's name. Which engines exist is the engines' business
 * (engines/registry.ts): the API passes their names to checkRequest.
 */
export type Mode = 'auto' | (string & {});

export const OPERATIONS = ['evaluate', 'jacobian', 'gradient', 'jvp', 'vjp', 'hessian', 'hvp'] as const;
export type Operation = (typeof OPERATIONS)[number];
/** The operations on the one scalar output of a graph. */
export const SCALAR_OPERATIONS: ReadonlySet<Operation> = new Set<Operation>(['gradient', 'hessian', 'hvp']);

const base = {
  graph: GraphSchema,
  args: TensorMapSchema.describe('one tensor per graph input, by name'),
  constant: z.array(NameSchema).optional().describe('inputs not differentiated (default: none)'),
  mode: z.string().min(1).optional().describe('auto (default), forward, reverse, fd, or the name of a registered engine'),
  check: z.boolean().optional().describe('also run fd and report the error (default false)'),
  outputs: z.array(NameSchema).min(1).optional().describe("a subset of the graph's outputs to compute (default: all)"),
  batched: z
    .array(NameSchema)
    .optional()
    .describe(
      'inputs whose arguments (and tangents or vector entries) carry a leading axis of B points; every value and derivative then gets that axis (default: none)',
    ),
  encoding: z
    .enum(ENCODINGS)
    .optional()
    .describe('how result tensors are written: json (default, nested numbers) or base64 ({dtype, shape, data}, little-endian float64)'),
};

const request = <S extends z.ZodRawShape>(id: string, shape: S) => z.object(shape).strict().meta({ id });

export const RequestSchemas = {
  evaluate: request('EvaluateRequest', base),
  jacobian: request('JacobianRequest', { ...base, format: FormatSchema }),
  gradient: request('GradientRequest', base),
  jvp: request('JvpRequest', { ...base, tangents: TensorMapSchema.describe('one tangent per active input') }),
  vjp: request('VjpRequest', { ...base, cotangents: TensorMapSchema.describe('one cotangent per requested output') }),
  hessian: request('HessianRequest', { ...base, format: FormatSchema }),
  hvp: request('HvpRequest', { ...base, vector: TensorMapSchema.describe('one entry per active input') }),
} satisfies Record<Operation, z.ZodType>;

/** A stored graph's id (graph-store.ts): SHA-256 of its canonical form, 64 lower-case hex digits. */
export const GraphIdSchema = z
  .string()
  .regex(/^[0-9a-f]{64}$/)
  .meta({ id: 'GraphId', description: "a stored graph's id: SHA-256 of its canonical form, 64 lower-case hex digits" });

const { graph: _graph, ...callBase } = base;
const extras = {
  evaluate: {},
  jacobian: { format: FormatSchema },
  gradient: {},
  jvp: { tangents: base.args.describe('one tangent per active input') },
  vjp: { cotangents: base.args.describe('one cotangent per requested output') },
  hessian: { format: FormatSchema },
  hvp: { vector: base.args.describe('one entry per active input') },
} satisfies Record<Operation, z.ZodRawShape>;
const NAMES: Record<Operation, string> = {
  evaluate: 'Evaluate',
  jacobian: 'Jacobian',
  gradient: 'Gradient',
  jvp: 'Jvp',
  vjp: 'Vjp',
  hessian: 'Hessian',
  hvp: 'Hvp',
};

/**
 * The call without its graph: the body of POST /v1/graphs/{id}/<operation>, where
 * the URL names a stored graph.
 */
export const CallSchemas = Object.fromEntries(
  OPERATIONS.map((op) => [op, request(`${NAMES[op]}CallOnStoredGraph`, { ...callBase, ...extras[op] })]),
) as unknown as Record<Operation, z.ZodObject<z.ZodRawShape, z.core.$strict>>;

/** The library's variant of every request: `graphId` (a stored graph) in place of `graph`. */
export const RequestByIdSchemas = Object.fromEntries(
  OPERATIONS.map((op) => [op, z.object({ ...callBase, ...extras[op], graphId: GraphIdSchema }).strict()]),
) as unknown as Record<Operation, z.ZodObject<z.ZodRawShape, z.core.$strict>>;

/** A request naming a stored graph (registerGraph's id) instead of carrying it. */
export type RequestById = Omit<Request, 'graph'> & { graphId: string };

export interface Request {
  graph: WireGraph;
  args: Record<string, TensorInput>;
  constant?: string[];
  mode?: Mode;
  check?: boolean;
  outputs?: string[];
  encoding?: Encoding;
  batched?: string[];
  /** jacobian and hessian only. */
  format?: JacobianFormat;
  tangents?: Record<string, TensorInput>;
  cotangents?: Record<string, TensorInput>;
  vector?: Record<string, TensorInput>;
}

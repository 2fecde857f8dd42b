/**
 * A result envelope (or an explanation) as text for a person: each tensor under
 * its name, derivative blocks as dy/dx, then the engine, why it was chosen and
 * where the time went. Reads the envelope as JSON, so an answer of the service
 * and one of the library print alike.
 */
import type { Explanation } from '../api/index.js';
import { align, cooLines, formatNumber, matrixLines, shapeText, viewOf } from './table.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `label = value` for a scalar; otherwise `label [shape]` and the matrix, indented. */
function entry(label: string, tensor: unknown, precision: number): string[] {
  if (isObject(tensor) && Array.isArray(tensor.rows) && Array.isArray(tensor.cols)) {
    const shape = Array.isArray(tensor.shape) ? shapeText(tensor.shape as number[]) : '';
    const n = (tensor.rows as unknown[]).length;
    return [`  ${label} ${shape} coo, ${n} non-zero${n === 1 ? '' : 's'}`, ...cooLines(tensor, precision).map((l) => `    ${l}`)];
  }
  const view = viewOf(tensor);
  if (!view) return [`  ${label} (not a tensor: ${JSON.stringify(tensor)?.slice(0, 60)})`];
  if (view.shape.length === 0) return [`  ${label} = ${formatNumber(view.at(0), precision)}`];
  return [`  ${label} ${shapeText(view.shape)}`, ...matrixLines(view, precision).map((l) => `    ${l}`)];
}

const entries = (o: unknown): [string, unknown][] => (isObject(o) ? Object.entries(o) : []);

/** Most tensors listed under one heading; a grid of thousands of blocks shows its first and last. */
export const MAX_BLOCKS = 40;

/** A heading and its tensors, each labelled; past MAX_BLOCKS, the first and last half of them. */
function section(title: string, blocks: [string, unknown][], precision: number): string[] {
  const half = MAX_BLOCKS / 2;
  const shown = blocks.length > MAX_BLOCKS ? [...blocks.slice(0, half), null, ...blocks.slice(-half)] : blocks;
  const out = [title];
  for (const b of shown) out.push(...(b === null ? ['  …'] : entry(b[0], b[1], precision)));
  if (blocks.length > MAX_BLOCKS) out.push(`  (${blocks.length - MAX_BLOCKS} more not shown; --json prints everything)`);
  return out;
}

/** The one output's name when there is one (gradient, hessian): their blocks are of it. */
function soleOutput(result: Json): string {
  const names = Object.keys(isObject(result.values) ? result.values : {});
  return names.length === 1 ? names[0] : 'f';
}

/** A grid {row: {col: tensor}} as labelled blocks, row by row. */
const grid = (g: unknown, label: (row: string, col: string) => string): [string, unknown][] =>
  entries(g).flatMap(([r, row]) => entries(row).map(([c, t]): [string, unknown] => [label(r, c), t]));

function derivativeLines(result: Json, precision: number): string[] {
  const out: string[] = [];
  const f = soleOutput(result);
  if ('jacobian' in result)
    out.push(
      ...section(
        'jacobian (d output / d input; shape output ++ input)',
        grid(result.jacobian, (o, i) => `d${o}/d${i}`),
        precision,
      ),
    );
  if ('gradient' in result)
    out.push(
      ...section(
        'gradient',
        entries(result.gradient).map(([i, t]): [string, unknown] => [`d${f}/d${i}`, t]),
        precision,
      ),
    );
  if ('hessian' in result)
    out.push(
      ...section(
        'hessian (shape input ++ input)',
        grid(result.hessian, (a, b) => `d2${f}/d${a} d${b}`),
        precision,
      ),
    );
  const products = [
    ['jvp', 'jvp (Jacobian times tangents, per output)'],
    ['vjp', 'vjp (cotangents times Jacobian, per input)'],
    ['hvp', 'hvp (Hessian times vector, per input)'],
  ];
  for (const [key, title] of products) if (key in result) out.push(...section(title, entries(result[key]), precision));
  return out;
}

const ms = (x: unknown): string => (typeof x === 'number' ? `${x}` : '?');

/** The engine, its reason, the timings (and the check, when asked) as a few lines. */
function footer(result: Json): string[] {
  const out: string[] = [];
  const stats = isObject(result.stats) ? result.stats : {};
  if (typeof result.mode === 'string') {
    const d = stats.directions;
    const dirs = typeof d === 'number' ? `, ${d} direction${d === 1 ? '' : 's'}` : '';
    out.push(`mode: ${result.mode}${dirs}${typeof result.reason === 'string' ? ` (${result.reason})` : ''}`);
  }
  if (isObject(result.check))
    out.push(`check: max abs error ${result.check.maxAbsError}, max rel error ${result.check.maxRelError} (against fd)`);
  if (isObject(result.timings)) {
    const t = result.timings;
    const parts = ['validate', 'plan', 'evaluate', 'differentiate', 'check']
      .filter((k) => t[`${k}Ms`] !== undefined)
      .map((k) => `${k} ${ms(t[`${k}Ms`])}`);
    out.push(`time: ${ms(t.totalMs)} ms (${parts.join(', ')})`);
  }
  return out;
}

/** A result envelope as text. */
export function resultText(result: unknown, precision: number): string {
  if (!isObject(result)) return `${JSON.stringify(result)}\n`;
  const lines = [...section('values', entries(result.values), precision), ...derivativeLines(result, precision), ...footer(result)];
  return `${lines.join('\n')}\n`;
}

/** Attributes of a node beyond the columns shown, as short JSON. */
function attrsText(node: Json): string {
  const { id: _id, op: _op, args: _args, shape: _shape, active: _active, from: _from, ...attrs } = node;
  if (Object.keys(attrs).length === 0) return '';
  const s = JSON.stringify(attrs);
  return s.length > 60 ? `${s.slice(0, 59)}…` : s;
}

/** Most nodes listed; a graph of thousands is summarised by its first and last. */
export const MAX_NODES_SHOWN = 40;

/** An explanation as text: the call, then inputs, nodes and outputs as tables. */
export function explanationText(e: unknown): string {
  if (!isObject(e)) return `${JSON.stringify(e)}\n`;
  const x = e as unknown as Explanation;
  const yes = (b: unknown): string => (b ? 'yes' : 'no');
  const lines = [`operation: ${x.operation}`, `mode: ${x.mode}, ${x.directions} direction${x.directions === 1 ? '' : 's'} (${x.reason})`];
  lines.push('inputs');
  const inputs = Array.isArray(x.inputs) ? x.inputs : [];
  lines.push(
    ...align([['name', 'shape', 'active'], ...inputs.map((i) => [i.name, shapeText(i.shape ?? []), yes(i.active)])], 3).map(
      (l) => `  ${l}`,
    ),
  );
  const nodes = Array.isArray(x.nodes) ? x.nodes : [];
  lines.push('nodes');
  const half = MAX_NODES_SHOWN / 2;
  const shown = nodes.length > MAX_NODES_SHOWN ? [...nodes.slice(0, half), null, ...nodes.slice(-half)] : nodes;
  // the from and attributes columns only when some node has one
  const withFrom = nodes.some((n) => n.from !== undefined);
  const withAttrs = shown.some((n) => n !== null && attrsText(n) !== '');
  const rows = shown.map((n) =>
    n === null
      ? ['…']
      : [
          n.id,
          n.op,
          (n.args ?? []).map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '),
          shapeText(n.shape ?? []),
          yes(n.active),
          ...(withFrom ? [n.from ?? ''] : []),
          ...(withAttrs ? [attrsText(n)] : []),
        ],
  );
  lines.push(
    ...align(
      [['id', 'op', 'args', 'shape', 'active', ...(withFrom ? ['from'] : []), ...(withAttrs ? ['attributes'] : [])], ...rows],
      7,
    ).map((l) => `  ${l}`),
  );
  if (nodes.length > MAX_NODES_SHOWN) lines.push(`  (${nodes.length - MAX_NODES_SHOWN} nodes not shown; --json prints everything)`);
  lines.push('outputs');
  const outputs = Array.isArray(x.outputs) ? x.outputs : [];
  lines.push(...align([['name', 'shape'], ...outputs.map((o) => [o.name, shapeText(o.shape ?? [])])], 2).map((l) => `  ${l}`));
  return `${lines.join('\n')}\n`;
}

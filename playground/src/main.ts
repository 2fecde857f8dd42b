/**
 * The playground page: the form (inputs, formulas, outputs, operation, mode), and
 * on Compute the operation under every engine, /v1/explain for the diagram and a
 * batched call for the f/f′ sweep. The state lives in the URL's hash. Plain DOM
 * code: the page is small, and the bundle stays uPlot plus this.
 */
import './style.css';
import { ApiError, type ComputeResult, type Explanation, post, setApiKey } from './api.js';
import { diagram } from './diagram.js';
import { heatmap } from './heatmap.js';
import { linePlot } from './lineplot.js';
import { linspace } from './lib/args.js';
import { asCurl, asPython, asTypeScript } from './lib/copy.js';
import { derivativeNumbers, disagreements, ENGINES, type Engine, largestPair } from './lib/engines.js';
import { EXAMPLES, SEED } from './lib/examples.js';
import {
  type Definitions,
  MODES,
  type Mode,
  OPERATIONS,
  type Operation,
  type PlaygroundState,
  parseDefinitions,
  placeIssue,
  type Request,
  StateError,
  sweepRequest,
  toRequest,
} from './lib/state.js';
import { asMatrix, flatten, fmt, shapeOf, sizeOf, type Wire } from './lib/tensor.js';
import { decodeState, encodeState } from './lib/url.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} is missing from index.html`);
  return e as T;
};
function make<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, unknown> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e: HTMLElementTagNameMap[K] = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children);
  return e;
}
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

let state: PlaygroundState = clone(SEED.state);
let run = 0; // the latest Compute: an older one's answers are dropped

// ---- the form ---------------------------------------------------------------

function inputRow(input: PlaygroundState['inputs'][number]): HTMLTableRowElement {
  const tr = make('tr');
  tr.dataset.input = input.name;
  const name = make('input', { type: 'text', className: 'name', value: input.name, spellcheck: false });
  name.setAttribute('aria-label', 'input name');
  name.addEventListener('input', () => {
    tr.dataset.input = name.value.trim(); // errors about it find its row under its new name
  });
  const shape = make('input', { type: 'text', className: 'shape', value: JSON.stringify(input.shape), spellcheck: false });
  shape.setAttribute('aria-label', `shape of ${input.name}`);
  const values = make('input', { type: 'text', className: 'values', value: input.values, spellcheck: false });
  values.setAttribute('aria-label', `values of ${input.name}`);
  const constant = make('input', { type: 'checkbox', className: 'constant', checked: input.constant });
  constant.setAttribute('aria-label', `${input.name} is constant`);
  constant.addEventListener('change', () => void compute());
  const remove = make('button', { type: 'button', textContent: '×', title: `remove ${input.name}` });
  remove.setAttribute('aria-label', `remove input ${input.name}`);
  remove.addEventListener('click', () => tr.remove());
  const error = make('div', { className: 'error' });
  error.setAttribute('role', 'alert');
  tr.append(make('td', {}, name), make('td', {}, shape), make('td', {}, values, error), make('td', {}, constant), make('td', {}, remove));
  return tr;
}

function formulaLine(text: string, index: number): HTMLLIElement {
  const line = make('input', { type: 'text', value: text, spellcheck: false, autocomplete: 'off' });
  line.setAttribute('aria-label', `formula ${index + 1}: name = formula`);
  const remove = make('button', { type: 'button', textContent: '×' });
  remove.setAttribute('aria-label', `remove formula ${index + 1}`);
  const li = make('li', {}, make('div', { className: 'line' }, line, remove), make('div', { className: 'error' }));
  remove.addEventListener('click', () => li.remove());
  return li;
}

function renderForm(): void {
  $('inputs')
    .querySelector('tbody')
    ?.replaceChildren(...state.inputs.map(inputRow));
  $('formulas').replaceChildren(...state.formulas.split('\n').map(formulaLine));
  $<HTMLInputElement>('outputs').value = state.outputs.join(', ');
  $<HTMLSelectElement>('operation').value = state.operation;
  $<HTMLSelectElement>('mode').value = state.mode;
}

function readForm(): PlaygroundState {
  const inputs = [...$('inputs').querySelectorAll('tbody tr')].map((tr) => {
    const get = (c: string) => tr.querySelector<HTMLInputElement>(`input.${c}`);
    let shape: unknown;
    try {
      shape = JSON.parse(get('shape')?.value || '[]');
    } catch {
      shape = null;
    }
    return {
      name: get('name')?.value.trim() ?? '',
      shape: Array.isArray(shape) ? (shape as number[]) : [-1],
      values: get('values')?.value ?? '',
      constant: get('constant')?.checked ?? false,
    };
  });
  const formulas = [...$('formulas').querySelectorAll('input')].map((i) => i.value).join('\n');
  const outputs = $<HTMLInputElement>('outputs')
    .value.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return {
    inputs,
    formulas,
    outputs,
    operation: $<HTMLSelectElement>('operation').value as Operation,
    mode: $<HTMLSelectElement>('mode').value as Mode,
    ...(state.sweep ? { sweep: readSweep() } : {}),
  };
}

function clearErrors(): void {
  for (const e of document.querySelectorAll('#editor .error')) e.textContent = '';
}

/** An error under the formula line or the input it belongs to, else under the form. */
function showError(where: { line?: number; input?: string }, message: string): void {
  let box: Element | null = null;
  if (where.line !== undefined) box = $('formulas').children[where.line]?.querySelector('.error') ?? null;
  if (where.input !== undefined) box = $('inputs').querySelector(`tr[data-input="${CSS.escape(where.input)}"] .error`);
  box ??= $('form-error');
  box.textContent = box.textContent ? `${box.textContent}\n${message}` : message;
}

function showIssues(e: ApiError, defs: Definitions): void {
  if (e.issues.length === 0) showError({}, e.message);
  for (const issue of e.issues) showError(placeIssue(issue.path, state, defs), `${issue.path}: ${issue.message}`);
}

// ---- results ----------------------------------------------------------------

const opSymbol = (operation: Operation): string =>
  ({ jacobian: 'Jacobian', gradient: 'Gradient', hessian: 'Hessian', evaluate: 'Derivative' })[operation];

function renderValues(values: Record<string, unknown>): void {
  const out: Node[] = [];
  for (const [name, v] of Object.entries(values)) {
    const shape = shapeOf(v as Wire);
    const flat = flatten(v as Wire);
    if (shape.length === 0) out.push(make('p', { className: 'scalar' }, `${name} = ${fmt(flat[0])}`));
    else if (shape.length === 1)
      out.push(
        linePlot(
          flat.map((_, i) => i),
          [{ label: name, values: flat, colour: '#2166ac' }],
          { title: `${name} [${shape[0]}]`, xLabel: 'index', width: plotWidth(), height: 220 },
        ),
      );
    else out.push(heatmap({ rows: shape[0], cols: flat.length / shape[0], data: flat }, { label: name, scale: 'sequential' }));
  }
  $('values').replaceChildren(...out);
}

const plotWidth = (): number => Math.max(260, Math.min(560, $('values-panel').clientWidth - 24));

function renderDerivative(res: ComputeResult): void {
  $('derivative-title').textContent = opSymbol(state.operation);
  const shapes = new Map(state.inputs.map((i) => [i.name, i.shape]));
  const out: Node[] = [];
  if (res.jacobian)
    for (const [o, blocks] of Object.entries(res.jacobian))
      for (const [i, block] of Object.entries(blocks))
        out.push(
          heatmap(asMatrix(block as Wire, shapeOf(res.values[o] as Wire)), {
            label: `∂${o}/∂${i}`,
            scale: 'diverging',
            rowName: o,
            colName: i,
          }),
        );
  if (res.gradient)
    for (const [i, g] of Object.entries(res.gradient)) {
      const data = flatten(g as Wire);
      out.push(heatmap({ rows: 1, cols: data.length, data }, { label: `∇ ${i}`, scale: 'diverging', rowName: 'row', colName: i }));
    }
  if (res.hessian)
    for (const [a, blocks] of Object.entries(res.hessian))
      for (const [b, block] of Object.entries(blocks))
        out.push(
          heatmap(asMatrix(block as Wire, shapes.get(a) ?? []), { label: `∂²/∂${a}∂${b}`, scale: 'diverging', rowName: a, colName: b }),
        );
  if (out.length === 0)
    out.push(
      make(
        'p',
        { className: 'hint' },
        state.operation === 'evaluate' ? 'evaluate computes no derivative.' : 'No derivative blocks: every input is constant.',
      ),
    );
  $('derivative').replaceChildren(...out);
}

interface CooBlock {
  shape: number[];
  rows: number[];
  cols: number[];
}

/** Each block's structural pattern (a `format: "coo"` answer): 1 where an entry can be non-zero. */
function renderPatterns(res: ComputeResult): void {
  const blocks = (res.jacobian ?? res.hessian ?? {}) as Record<string, Record<string, CooBlock>>;
  const inputShapes = new Map(state.inputs.map((i) => [i.name, i.shape]));
  const out: Node[] = [];
  for (const [o, row] of Object.entries(blocks))
    for (const [i, block] of Object.entries(row)) {
      const outShape = res.jacobian ? shapeOf(res.values[o] as Wire) : (inputShapes.get(o) ?? []);
      const rows = sizeOf(outShape);
      const cols = rows === 0 ? 0 : sizeOf(block.shape) / rows;
      const data = new Array<number>(rows * cols).fill(0);
      block.rows.forEach((r, k) => {
        data[r * cols + block.cols[k]] = 1;
      });
      const label = res.jacobian ? `pattern of ∂${o}/∂${i}` : `pattern of ∂²/∂${o}∂${i}`;
      out.push(heatmap({ rows, cols, data }, { label, scale: 'pattern', rowName: o, colName: i }));
    }
  $('derivative').append(...out);
}

function renderSummary(res: ComputeResult): void {
  const t = res.timings;
  $('summary').replaceChildren(
    make('span', {}, res.mode ? `mode ${res.mode}, ` : ''),
    make('span', { id: 'directions' }, `${res.stats.directions} direction${res.stats.directions === 1 ? '' : 's'}`),
    `, ${res.stats.activeNodes} active and ${res.stats.inactiveNodes} inactive nodes, ${fmt(t.totalMs ?? 0)} ms.`,
    ...(res.reason ? [make('br'), make('span', { className: 'hint' }, res.reason)] : []),
  );
}

type Outcome = { ok: true; res: ComputeResult } | { ok: false; error: ApiError };

function renderEngines(outcomes: Partial<Record<Engine, Outcome>>): void {
  const numbers: Partial<Record<Engine, number[]>> = {};
  const field = state.operation as 'jacobian' | 'gradient' | 'hessian';
  for (const e of ENGINES) {
    const o = outcomes[e];
    if (o?.ok) numbers[e] = derivativeNumbers(o.res[field]);
  }
  const worst = disagreements(numbers);
  const ms = (v: number | undefined) => make('td', { className: 'num' }, v === undefined ? '–' : fmt(v));
  const rows = ENGINES.map((e) => {
    const o = outcomes[e];
    const tr = make('tr');
    tr.dataset.engine = e;
    const name = e === 'auto' && o?.ok ? `auto → ${o.res.mode}` : e;
    if (!o) return tr;
    if (!o.ok) {
      const td = make('td', { colSpan: 7, className: 'error' }, o.error.message);
      tr.append(make('th', { scope: 'row' }, name), td);
      return tr;
    }
    const t = o.res.timings;
    const dirs = make('td', { className: 'num directions' }, String(o.res.stats.directions));
    tr.append(
      make('th', { scope: 'row' }, name),
      dirs,
      ms(t.validateMs),
      ms(t.planMs),
      ms(t.evaluateMs),
      ms(t.differentiateMs),
      ms(t.totalMs),
      ms(worst[e]),
    );
    return tr;
  });
  $('engines')
    .querySelector('tbody')
    ?.replaceChildren(...rows);
  const auto = outcomes.auto;
  const pair = largestPair(numbers);
  $('auto-reason').textContent = [
    auto?.ok ? `auto chose ${auto.res.mode}: ${auto.res.reason ?? ''}.` : '',
    pair ? `Largest disagreement: ${fmt(pair.abs)}, between ${pair.a} and ${pair.b}.` : '',
  ].join(' ');
}

// ---- the sweep --------------------------------------------------------------

const SWEEP_POINTS = 81;

function scalarActiveInputs(s: PlaygroundState): string[] {
  return s.inputs.filter((i) => !i.constant && i.shape.length === 0).map((i) => i.name);
}

function renderSweepControls(): void {
  const inputs = scalarActiveInputs(state);
  const sweep = state.sweep;
  const options = (names: string[], chosen: string | undefined) =>
    names.map((n) => make('option', { value: n, textContent: n, selected: n === chosen }));
  $('sweep-input').replaceChildren(...options(inputs, sweep?.input));
  $('sweep-output').replaceChildren(...options(state.outputs, sweep?.output));
  $<HTMLInputElement>('sweep-index').value = String(sweep?.index ?? 0);
  $<HTMLInputElement>('sweep-from').value = String(sweep?.from ?? -2);
  $<HTMLInputElement>('sweep-to').value = String(sweep?.to ?? 2);
}

function readSweep(): NonNullable<PlaygroundState['sweep']> {
  const n = (id: string) => Number($<HTMLInputElement>(id).value);
  return {
    input: $<HTMLSelectElement>('sweep-input').value,
    output: $<HTMLSelectElement>('sweep-output').value,
    index: Math.max(0, Math.floor(n('sweep-index'))),
    from: n('sweep-from'),
    to: n('sweep-to'),
    points: SWEEP_POINTS,
  };
}

async function runSweep(mine: number): Promise<void> {
  const box = $('sweep');
  const sweep = state.sweep;
  if (!sweep || !scalarActiveInputs(state).includes(sweep.input) || !state.outputs.includes(sweep.output)) {
    box.replaceChildren(make('p', { className: 'hint' }, 'Pick a scalar active input and an output, then Plot.'));
    return;
  }
  if (!(sweep.from < sweep.to)) {
    box.replaceChildren(make('p', { className: 'error' }, '"from" must be below "to".'));
    return;
  }
  const xs = linspace(sweep.from, sweep.to, sweep.points);
  try {
    // One batched request: every point's value and derivative at once.
    const res = await post<ComputeResult>('/v1/jacobian', sweepRequest(state, sweep, xs));
    if (mine !== run) return;
    const values = res.values[sweep.output] as Wire[];
    const derivs = res.jacobian?.[sweep.output]?.[sweep.input] as Wire[];
    const size = sizeOf(shapeOf(values[0]));
    if (sweep.index >= size) throw new ApiError(0, `element ${sweep.index} is past ${sweep.output}'s ${size} elements`, []);
    const f = values.map((v) => flatten(v)[sweep.index]);
    const df = derivs.map((v) => flatten(v)[sweep.index]);
    const name = size === 1 ? sweep.output : `${sweep.output}[${sweep.index}]`;
    box.replaceChildren(
      linePlot(
        xs,
        [
          { label: name, values: f, colour: '#2166ac' },
          { label: `∂${name}/∂${sweep.input}`, values: df, colour: '#b2182b', dash: [6, 4] },
        ],
        {
          title: `${name} and ∂${name}/∂${sweep.input}`,
          xLabel: `${sweep.input} (${xs.length} points, one batched request)`,
          width: plotWidth(),
          height: 240,
        },
      ),
    );
  } catch (e) {
    if (mine === run) box.replaceChildren(make('p', { className: 'error' }, (e as Error).message));
  }
}

// ---- compute ----------------------------------------------------------------

async function saveToUrl(): Promise<void> {
  try {
    history.replaceState(null, '', await encodeState(state));
  } catch (e) {
    showError({}, (e as Error).message);
  }
}

async function compute(): Promise<void> {
  const mine = ++run;
  clearErrors();
  state = readForm();
  let defs: Definitions;
  let request: Request;
  try {
    defs = parseDefinitions(state.formulas);
    request = toRequest(state);
  } catch (e) {
    if (e instanceof StateError) {
      showError(e.where, e.message);
      return;
    }
    throw e;
  }
  document.body.dataset.status = 'computing';
  renderSweepControls();
  void saveToUrl();
  const { mode: _mode, ...base } = request;
  const engines: readonly Engine[] = state.operation === 'evaluate' ? [] : ENGINES;
  const settle = (p: Promise<ComputeResult>): Promise<Outcome> =>
    p.then(
      (res) => ({ ok: true as const, res }),
      (error) => ({ ok: false as const, error: error instanceof ApiError ? error : new ApiError(0, String(error), []) }),
    );
  const main = settle(post<ComputeResult>(`/v1/${state.operation}`, request));
  const others = engines.map((e) => settle(post<ComputeResult>(`/v1/${state.operation}`, { ...base, mode: e })));
  const sparse =
    state.operation === 'jacobian' || state.operation === 'hessian'
      ? post<ComputeResult>(`/v1/${state.operation}`, { ...request, format: 'coo' }).catch((e: Error) => e)
      : null;
  const explained = post<Explanation>('/v1/explain', { ...request, operation: state.operation }).catch((e: Error) => e);
  const result = await main;
  if (mine !== run) return;
  if (!result.ok) {
    for (const id of ['values', 'derivative', 'graph', 'sweep', 'result-json']) $(id).replaceChildren();
    $('engines').querySelector('tbody')?.replaceChildren();
    $('auto-reason').textContent = '';
    showIssues(result.error, defs);
    $('summary').textContent = 'The request was refused: see the messages in the form.';
    document.body.dataset.status = 'error';
    return;
  }
  renderSummary(result.res);
  renderValues(result.res.values);
  renderDerivative(result.res);
  $('result-json').textContent = JSON.stringify(result.res, null, 1);
  const outcomes = Object.fromEntries(engines.map((e, i) => [e, i])) as Record<Engine, number>;
  const settled = await Promise.all(others);
  if (mine !== run) return;
  renderEngines(Object.fromEntries(Object.entries(outcomes).map(([e, i]) => [e, settled[i]])));
  const pattern = await sparse;
  if (mine !== run) return;
  if (pattern && !(pattern instanceof Error)) renderPatterns(pattern);
  const ex = await explained;
  if (mine !== run) return;
  $('graph').replaceChildren(ex instanceof Error ? make('p', { className: 'error' }, ex.message) : diagram(ex));
  await runSweep(mine);
  if (mine === run) document.body.dataset.status = 'done';
}

// ---- copy as, share ---------------------------------------------------------

function showCode(text: string): void {
  const pre = $('copy-output');
  pre.hidden = false;
  pre.textContent = text;
  navigator.clipboard?.writeText(text).catch(() => {});
}

function copyAs(kind: 'curl' | 'ts' | 'python'): void {
  clearErrors();
  const s = readForm();
  try {
    const req = toRequest(s);
    const make = { curl: asCurl, ts: asTypeScript, python: asPython }[kind];
    showCode(make(location.origin, s.operation, req));
  } catch (e) {
    if (e instanceof StateError) showError(e.where, e.message);
    else throw e;
  }
}

// ---- start ------------------------------------------------------------------

const API_KEY_ITEM = 'derivd-playground-api-key';

function load(next: PlaygroundState, note = ''): void {
  $('example-note').textContent = note;
  state = clone(next);
  renderForm();
  renderSweepControls();
  void compute();
}

function setup(): void {
  $('operation').replaceChildren(...OPERATIONS.map((o) => make('option', { value: o, textContent: o })));
  $('mode').replaceChildren(...MODES.map((m) => make('option', { value: m, textContent: m })));
  for (const ex of EXAMPLES) {
    const b = make('button', { type: 'button', textContent: ex.title, title: ex.note });
    b.dataset.example = ex.id;
    b.addEventListener('click', () => load(ex.state, ex.note));
    $('examples').append(b);
  }
  $('editor').addEventListener('submit', (e) => {
    e.preventDefault();
    void compute();
  });
  $('editor').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void compute();
    }
  });
  $('add-input').addEventListener('click', () => {
    $('inputs')
      .querySelector('tbody')
      ?.append(inputRow({ name: `in${$('inputs').querySelectorAll('tbody tr').length + 1}`, shape: [], values: '0', constant: false }));
  });
  $('add-formula').addEventListener('click', () => {
    const li = formulaLine('', $('formulas').children.length);
    $('formulas').append(li);
    li.querySelector('input')?.focus();
  });
  $('sweep-run').addEventListener('click', () => {
    state = { ...readForm(), sweep: readSweep() };
    void saveToUrl();
    void runSweep(++run);
  });
  // The key lives in this tab's session storage, never in the URL or a copied program.
  const key = $<HTMLInputElement>('api-key');
  key.value = sessionStorage.getItem(API_KEY_ITEM) ?? '';
  setApiKey(key.value);
  key.addEventListener('input', () => {
    setApiKey(key.value);
    sessionStorage.setItem(API_KEY_ITEM, key.value);
  });
  $('copy-curl').addEventListener('click', () => copyAs('curl'));
  $('copy-ts').addEventListener('click', () => copyAs('ts'));
  $('copy-python').addEventListener('click', () => copyAs('python'));
  $('share').addEventListener('click', async () => {
    state = readForm();
    await saveToUrl();
    showCode(location.href);
  });
}

async function start(): Promise<void> {
  setup();
  let initial: PlaygroundState = SEED.state;
  try {
    const shared = await decodeState(location.hash);
    if (!shared) {
      load(SEED.state, SEED.note);
      return;
    }
    initial = shared;
  } catch (e) {
    load(SEED.state, SEED.note);
    showError({}, `${(e as Error).message} The seed example is shown instead.`);
    return;
  }
  load(initial);
}

void start();

/**
 * A matrix as a canvas heatmap (drawn by hand: one rectangle per entry, which
 * no plotting library does better for a few thousand cells), with a legend and a
 * tooltip naming (row, column, value) under the mouse, or under a cursor moved
 * with the arrow keys when the canvas has focus.
 */
import { css, divergingOrSpecial, type Rgb, sequential, symmetricLimit } from './lib/colors.js';
import { fmt } from './lib/tensor.js';

export interface Matrix {
  rows: number;
  cols: number;
  data: number[];
}

const MAX_SIDE = 320;
/** Beyond this many entries a block is not drawn (a fillRect each): its numbers are still in the page. */
const MAX_CELLS = 250_000;

export function heatmap(
  matrix: Matrix,
  options: { label: string; scale: 'diverging' | 'sequential' | 'pattern'; rowName?: string; colName?: string },
): HTMLElement {
  const { rows, cols, data } = matrix;
  const wrap = document.createElement('figure');
  wrap.className = 'heatmap';
  if (rows * cols > MAX_CELLS) {
    wrap.append(`${options.label}: ${rows} × ${cols}, too many entries to draw (over ${MAX_CELLS}); "All numbers" has them.`);
    return wrap;
  }
  // Square cells, except that a single row or column is drawn wider, so it can be seen and pointed at.
  const cell = Math.max(1, Math.min(40, Math.floor(MAX_SIDE / Math.max(rows, cols, 1))));
  const [cellW, cellH] = [cols === 1 ? Math.max(cell, 32) : cell, rows === 1 ? Math.max(cell, 32) : cell];
  const canvas = document.createElement('canvas');
  canvas.width = cols * cellW;
  canvas.height = rows * cellH;
  canvas.tabIndex = 0;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `${options.label}: ${rows} × ${cols} heatmap; arrow keys move a cursor`);
  let [lo, hi] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (const v of data)
    if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  if (lo > hi) [lo, hi] = [0, 0];
  const limit = symmetricLimit(data);
  const colour = (v: number): Rgb => {
    if (options.scale === 'pattern') return v ? [33, 102, 172] : [247, 247, 247];
    if (options.scale === 'diverging') return divergingOrSpecial(v, limit);
    return Number.isFinite(v) ? sequential(hi > lo ? (v - lo) / (hi - lo) : 0.5) : [128, 128, 128];
  };
  const ctx = canvas.getContext('2d');
  if (ctx) {
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        ctx.fillStyle = css(colour(data[r * cols + c]));
        ctx.fillRect(c * cellW, r * cellH, cellW, cellH);
      }
  }
  const tip = document.createElement('div');
  tip.className = 'tooltip';
  tip.setAttribute('role', 'status');
  tip.hidden = true;
  let cursor = { r: 0, c: 0 };
  const show = (r: number, c: number): void => {
    cursor = { r, c };
    tip.hidden = false;
    tip.dataset.row = String(r);
    tip.dataset.col = String(c);
    tip.dataset.value = String(data[r * cols + c]);
    const v = data[r * cols + c];
    const shown = options.scale === 'pattern' ? (v ? 'structurally non-zero' : 'always 0') : fmt(v);
    tip.textContent = `(${options.rowName ?? 'row'} ${r}, ${options.colName ?? 'column'} ${c}) = ${shown}`;
    const scale = canvas.clientWidth / canvas.width || 1; // drawn smaller when the screen is narrow
    tip.style.left = `${canvas.offsetLeft + Math.min((c + 1) * cellW, canvas.width) * scale + 4}px`;
    tip.style.top = `${canvas.offsetTop + r * cellH * scale}px`;
  };
  canvas.addEventListener('mousemove', (e) => {
    const box = canvas.getBoundingClientRect();
    const c = Math.floor(((e.clientX - box.left) / box.width) * cols);
    const r = Math.floor(((e.clientY - box.top) / box.height) * rows);
    if (r >= 0 && r < rows && c >= 0 && c < cols) show(r, c);
  });
  canvas.addEventListener('mouseleave', () => {
    tip.hidden = true;
  });
  canvas.addEventListener('focus', () => show(cursor.r, cursor.c));
  canvas.addEventListener('blur', () => {
    tip.hidden = true;
  });
  canvas.addEventListener('keydown', (e) => {
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    show(Math.max(0, Math.min(rows - 1, cursor.r + m[0])), Math.max(0, Math.min(cols - 1, cursor.c + m[1])));
  });
  const caption = document.createElement('figcaption');
  const legend = document.createElement('span');
  legend.className = `legend legend-${options.scale}`;
  const [a, b] = options.scale === 'diverging' ? [-limit, limit] : [lo, hi];
  if (options.scale === 'pattern') caption.append(`${options.label} (${rows} × ${cols}, ${data.filter((v) => v).length} non-zeros)`);
  else caption.append(`${options.label} (${rows} × ${cols}) `, legend, ` ${fmt(a)} … ${fmt(b)}`);
  const stage = document.createElement('div');
  stage.className = 'stage';
  stage.append(canvas, tip);
  wrap.append(stage, caption);
  return wrap;
}

/**
 * The problems in TensorFlow.js, pure-JS CPU backend, float32. tfjs has no forward
 * mode: gradients are tf.grad / tf.grads; a Jacobian is one batched reverse pass
 * (the input tiled once per output row, each row's cotangent one-hot through an
 * identity mask), which is much faster in tfjs than one tf.grad call per output
 * element. Each timed call converts the active arguments from Float64Array, runs, and
 * reads the results back (dataSync); constant arguments are converted once.
 */
import * as tf from '@tensorflow/tfjs';
import type { Impl } from './hand/index.js';
import type { Kind, Problem } from './problems.js';
import type { TfjsBench } from './tfjs-types.js';

type T = tf.Tensor;
/** tfjs takes Float32Array (float64 is not a tfjs dtype). */
const f32 = (a: Float64Array): Float32Array => new Float32Array(a);

export async function initTfjs(): Promise<string> {
  tf.enableProdMode(); // also silences the "install the node backend" banner
  await tf.setBackend('cpu');
  await tf.ready();
  return `${tf.version.tfjs} (${tf.getBackend()})`;
}

/** Runs `f` in a tidy scope and reads its tensors back. */
function read(f: () => T[]): Float32Array[] {
  const out = tf.tidy(f);
  const data = out.map((t) => t.dataSync() as Float32Array);
  tf.dispose(out);
  return data;
}

/** Jacobian rows of a row-wise function g: [m, n] -> [m, m'] at x ([n]): d g(x)_i / dx, one reverse pass. */
const eyes = new Map<number, T>();
function batchedJacobian(g: (xb: T) => T, x: T, m: number): T {
  const eye = eyes.get(m) ?? tf.keep(tf.eye(m));
  eyes.set(m, eye);
  return tf.grad((xb: T) => tf.sum(tf.mul(g(xb), eye)))(tf.tile(tf.reshape(x, [1, -1]), [m, 1]));
}

export function tfjs(p: Problem): Impl {
  const shapes = p.graph.inputs.map((i) => i.shape);
  const impls: Record<Kind, () => Impl> = {
    seed: () => seed(p, false),
    seedScalar: () => seed(p, true),
    rosenbrock: () => {
      const h = shapes[0][0] / 2;
      const L = (w: T): T => {
        const W = tf.reshape(w, [h, 2]);
        const a = tf.slice(W, [0, 0], [h, 1]);
        const b = tf.slice(W, [0, 1], [h, 1]);
        return tf.sum(tf.add(tf.mul(100, tf.square(tf.sub(b, tf.square(a)))), tf.square(tf.sub(1, a))));
      };
      const grad = tf.grad(L);
      return {
        primal: ([w]) => read(() => [L(tf.tensor1d(f32(w)))]),
        derivative: ([w]) => read(() => [grad(tf.tensor1d(f32(w)))]),
      };
    },
    net: () => {
      const X = tf.tensor(f32(p.args[2].data), shapes[2]);
      const Y = tf.tensor(f32(p.args[3].data), shapes[3]);
      const L = (W1: T, W2: T): T => tf.sum(tf.square(tf.sub(tf.matMul(W2, tf.tanh(tf.matMul(W1, X))), Y)));
      const grads = tf.grads(L);
      return {
        primal: ([W1, W2]) => read(() => [L(tf.tensor(f32(W1), shapes[0]), tf.tensor(f32(W2), shapes[1]))]),
        derivative: ([W1, W2]) => read(() => grads([tf.tensor(f32(W1), shapes[0]), tf.tensor(f32(W2), shapes[1])])),
      };
    },
    sinexp: () => {
      const y = (x: T): T => tf.mul(tf.sin(x), tf.exp(x));
      return {
        primal: ([x]) => read(() => [y(tf.tensor1d(f32(x)))]),
        derivative: ([x]) => read(() => [batchedJacobian(y, tf.tensor1d(f32(x)), x.length)]),
      };
    },
    bratu: () => {
      const n = shapes[0][0];
      const lam = p.args[1].data[0];
      // row-wise on [m, n]: u_i + u_{i+2} - 2 u_{i+1} + λ e^{u_{i+1}}
      const res = (u: T): T => {
        const rows = u.shape.length === 1 ? 1 : u.shape[0];
        const ub = tf.reshape(u, [rows, n]);
        const mid = tf.slice(ub, [0, 1], [rows, n - 2]);
        const lap = tf.sub(tf.add(tf.slice(ub, [0, 0], [rows, n - 2]), tf.slice(ub, [0, 2], [rows, n - 2])), tf.mul(2, mid));
        return tf.add(lap, tf.mul(lam, tf.exp(mid)));
      };
      return {
        primal: ([u]) => read(() => [res(tf.tensor1d(f32(u)))]),
        derivative: ([u]) => read(() => [batchedJacobian(res, tf.tensor1d(f32(u)), n - 2)]),
      };
    },
    rowmap: () => {
      const [r, k] = shapes[0];
      const W = tf.tensor(f32(p.args[1].data), shapes[1]);
      // row-wise on [m, r k]: tanh of each point's [r, k] times W, flattened
      const y = (x: T): T => {
        const rows = x.shape.length === 1 ? 1 : x.shape[0];
        return tf.reshape(tf.tanh(tf.matMul(tf.reshape(x, [rows * r, k]), W)), [rows, r * k]);
      };
      return {
        primal: ([x]) => read(() => [y(tf.tensor1d(f32(x)))]),
        derivative: ([x]) => read(() => [batchedJacobian(y, tf.tensor1d(f32(x)), r * k)]),
      };
    },
    solve: () => {
      throw new Error('TensorFlow.js has no linear solve');
    },
  };
  return impls[p.kind]();
}

/** r = d - (d·f / f·f) f, f = exp(-1.5 (x - xs)^2), for xs of shape [] or (batched) [B, 1]. */
function seed(p: Problem, scalar: boolean): Impl {
  const x = tf.range(-10, 11);
  const d = tf.tensor1d(f32(p.args[0].data));
  const r = (xs: T): T => {
    const f = tf.exp(tf.mul(-1.5, tf.square(tf.sub(x, xs))));
    const c = tf.div(tf.sum(tf.mul(d, f), -1, true), tf.sum(tf.mul(f, f), -1, true));
    return tf.sub(d, tf.mul(c, f));
  };
  const s = (xs: T): T => tf.sum(tf.square(r(xs)));
  const ds = tf.grad(s);
  return {
    primal: ([, xs]) => read(() => [(scalar ? s : r)(tf.scalar(xs[0]))]),
    derivative: ([, xs]) => read(() => [scalar ? ds(tf.scalar(xs[0])) : batchedJacobian(r, tf.tensor1d(f32(xs)), 21)]),
  };
}

export default { initTfjs, tfjs } satisfies TfjsBench;

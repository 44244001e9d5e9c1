// Out-of-sample class probabilities for label-issue finding: stratified k-fold, and in each
// fold a multinomial logistic regression on L2-normalised image features fitted on the other
// folds. Cleanlab's confident learning needs probabilities from a model that never saw the
// image's label: an in-sample model memorises its own mistakes and agrees with them.
// Full-batch Adam from a fixed start (zeros, or the zero-shot head) makes it deterministic:
// the seed only decides which fold each image falls into.
import * as tf from '@tensorflow/tfjs';
import { readAndDispose } from '../backend';
import { mulberry32, shuffleInPlace } from '../clip/random';

export const DEFAULT_FOLDS = 5;

export interface ProbeOptions {
  folds?: number;
  seed?: number;
  /** Logit scale s: logits = s·f·W + b, so weights of about unit norm give CLIP-like logits. */
  scale?: number;
  /** Start (and pull towards) this head [C, P] flat, e.g. the zero-shot text features; default zeros (a plain linear probe). */
  init?: Float32Array | null;
  steps?: number;
  learningRate?: number;
  /** L2 pull of W towards its start, per unit of mean cross-entropy. */
  l2?: number;
}

/** 100 full-batch Adam steps at lr 0.1 find the same issues on the demo as 200 at 0.05 (bench/label-issues.ts), in half the time. */
export const PROBE_DEFAULTS = { folds: DEFAULT_FOLDS, seed: 0, scale: 30, steps: 100, learningRate: 0.1, l2: 0.3 } as const;

/** Fold index per example: each class's examples shuffled (seeded) and dealt round-robin, so every fold sees every class. */
export function stratifiedFolds(labels: ArrayLike<number>, folds: number, seed: number): Int32Array {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) (byClass.get(labels[i]) ?? byClass.set(labels[i], []).get(labels[i])!).push(i);
  const rand = mulberry32(seed);
  const out = new Int32Array(labels.length);
  let offset = 0; // classes smaller than k start where the previous one stopped, so folds stay even
  for (const key of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = shuffleInPlace(byClass.get(key)!, rand);
    members.forEach((idx, r) => (out[idx] = (offset + r) % folds));
    offset = (offset + members.length) % folds;
  }
  return out;
}

/**
 * Softmax regression fitted on (x, y): returns W [P, C] and b [C] as flat arrays.
 * x is [n, P] flat, rows already L2-normalised.
 */
export async function fitSoftmaxRegression(
  x: Float32Array,
  y: ArrayLike<number>,
  width: number,
  classes: number,
  opts: ProbeOptions = {},
): Promise<{ w: Float32Array; b: Float32Array }> {
  const { scale, steps, learningRate, l2 } = { ...PROBE_DEFAULTS, ...stripUndefined(opts) };
  const n = y.length;
  const w0 = opts.init ? tf.tidy(() => tf.tensor2d(opts.init!, [classes, width]).transpose()) : tf.zeros([width, classes]);
  const X = tf.tensor2d(x, [n, width]);
  // A transposed copy once: plain (non-transposed) matMul is the fast path on wasm.
  const Xt = tf.tidy(() => X.transpose());
  const Y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from(y), 'int32'), classes).toFloat());
  let w = w0.clone();
  let b: tf.Tensor = tf.zeros([classes]);
  let mw: tf.Tensor = tf.zerosLike(w);
  let vw: tf.Tensor = tf.zerosLike(w);
  let mb: tf.Tensor = tf.zerosLike(b);
  let vb: tf.Tensor = tf.zerosLike(b);
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  try {
    for (let t = 1; t <= steps; t++) {
      const next = tf.tidy(() => {
        const p = tf.softmax(tf.add(tf.mul(tf.matMul(X, w), scale), b));
        const err = tf.div(tf.sub(p, Y), n); // ∂mean CE/∂logits
        const gw = tf.add(tf.mul(tf.matMul(Xt, err), scale), tf.mul(tf.sub(w, w0), 2 * l2));
        const gb = tf.sum(err, 0);
        const step = (param: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor) => {
          const m2 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
          const v2 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
          const mHat = tf.div(m2, 1 - beta1 ** t);
          const vHat = tf.div(v2, 1 - beta2 ** t);
          return [tf.sub(param, tf.div(tf.mul(mHat, learningRate), tf.add(tf.sqrt(vHat), eps))), m2, v2];
        };
        return [...step(w, gw, mw, vw), ...step(b, gb, mb, vb)];
      });
      tf.dispose([w, mw, vw, b, mb, vb]);
      [w, mw, vw, b, mb, vb] = next;
    }
    // Read with await: a GPU backend (webgpu) cannot read synchronously.
    return { w: (await w.data()) as Float32Array, b: (await b.data()) as Float32Array };
  } finally {
    tf.dispose([w0, X, Xt, Y, w, b, mw, vw, mb, vb]);
  }
}

/** Softmax of s·x·W + b, [n, C] flat. */
export async function probeProbabilities(
  x: Float32Array,
  width: number,
  head: { w: Float32Array; b: Float32Array },
  classes: number,
  scale: number,
): Promise<Float32Array> {
  const n = x.length / width;
  if (n === 0) return new Float32Array(0);
  return readAndDispose(
    tf.tidy(() => tf.softmax(tf.add(tf.mul(tf.matMul(tf.tensor2d(x, [n, width]), tf.tensor2d(head.w, [width, classes])), scale), tf.tensor1d(head.b)))),
  );
}

/**
 * Class probabilities [N, C] flat for every example from a probe that did not see it: k folds,
 * each predicted by a probe fitted on the other k−1. `onFold` reports progress.
 */
export async function crossValidatedProbabilities(
  x: Float32Array,
  labels: ArrayLike<number>,
  width: number,
  classes: number,
  opts: ProbeOptions = {},
  onFold?: (done: number, total: number) => void,
): Promise<Float32Array> {
  const o = { ...PROBE_DEFAULTS, ...stripUndefined(opts) };
  const n = labels.length;
  if (!Number.isInteger(o.folds) || o.folds < 2) throw new Error(`folds must be an integer of at least 2, got ${o.folds}`);
  if (n < o.folds) throw new Error(`${n} images cannot be split into ${o.folds} folds`);
  const fold = stratifiedFolds(labels, o.folds, o.seed);
  const out = new Float32Array(n * classes);
  for (let f = 0; f < o.folds; f++) {
    const train: number[] = [];
    const held: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? held : train).push(i);
    const head = await fitSoftmaxRegression(
      gatherRows(x, width, train),
      train.map((i) => labels[i]),
      width,
      classes,
      o,
    );
    const p = await probeProbabilities(gatherRows(x, width, held), width, head, classes, o.scale);
    held.forEach((i, r) => out.set(p.subarray(r * classes, (r + 1) * classes), i * classes));
    onFold?.(f + 1, o.folds);
  }
  return out;
}

function gatherRows(x: Float32Array, width: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, k) => out.set(x.subarray(r * width, (r + 1) * width), k * width));
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

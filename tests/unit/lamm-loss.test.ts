// The loss against a plain float64 re-implementation of DESIGN §3, and its gradient against
// finite differences, on small random tensors (the golden test checks it end to end).
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src-main/backend';
import { lossWeights } from '../../src-main/lamm/config';
import { lammLoss, oneHot } from '../../src-main/lamm/loss';
import { mulberry32 as seededRandom } from '../../src-main/clip/random';

const C = 3,
  B = 5,
  P = 4,
  M = 2,
  D = 3;
const weights = lossWeights({ wc: 0.7, cos: 1.3, kd: 0.05, T: 2 });
const logitScale = Math.log(10);

function randn(random: () => number, n: number): number[] {
  return Array.from({ length: n }, () => random() * 2 - 1);
}
const rows = (flat: number[], width: number) => Array.from({ length: flat.length / width }, (_, i) => flat.slice(i * width, (i + 1) * width));
const norm = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
function logSoftmax(v: number[]): number[] {
  const m = Math.max(...v);
  const lse = m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
  return v.map((x) => x - lse);
}

function referenceLoss(t: number[][], t0: number[][], f: number[][], y: number[], E: number[], E0: number[]) {
  const s = Math.exp(logitScale),
    T = weights.T;
  const tn = t.map(norm),
    t0n = t0.map(norm);
  const z = f.map((fi) => tn.map((tc) => s * dot(fi, tc)));
  const z0 = f.map((fi) => t0n.map((tc) => s * dot(fi, tc)));
  const ce = -z.reduce((acc, zi, i) => acc + logSoftmax(zi)[y[i]], 0) / B;
  const wc = E.reduce((acc, e, i) => acc + (e - E0[i]) ** 2, 0);
  const cos = y.reduce((acc, c) => acc + 1 - dot(tn[c], t0n[c]), 0) / B;
  const kd =
    (T *
      T *
      z.reduce((acc, zi, i) => {
        const p = logSoftmax(zi.map((v) => v / T)).map(Math.exp);
        const logQ = logSoftmax(z0[i].map((v) => v / T));
        return acc - p.reduce((a, pc, c) => a + pc * logQ[c], 0);
      }, 0)) /
    B;
  return { ce, wc, cos, kd, total: ce + weights.wc * wc + weights.cos * cos + weights.kd * kd };
}

describe('lammLoss', () => {
  beforeAll(async () => {
    await initBackend();
  });

  const random = seededRandom(11);
  const t = randn(random, C * P),
    t0 = randn(random, C * P);
  const f = rows(randn(random, B * P), P).map(norm);
  const y = [0, 2, 1, 2, 0];
  const E = randn(random, C * M * D),
    E0 = randn(random, C * M * D);

  function compute(tFlat: number[]) {
    return tf.tidy(() => {
      const r = lammLoss(
        {
          textFeatures: tf.tensor2d(tFlat, [C, P]),
          zeroShotFeatures: tf.tensor2d(t0, [C, P]),
          imageFeatures: tf.tensor2d(f.flat(), [B, P]),
          oneHotLabels: oneHot(y, C),
          labelEmbeddings: tf.tensor3d(E, [C, M, D]),
          initialLabelEmbeddings: tf.tensor3d(E0, [C, M, D]),
          logitScale,
        },
        weights,
      );
      return {
        ce: r.terms.ce.dataSync()[0],
        wc: r.terms.wc.dataSync()[0],
        cos: r.terms.cos.dataSync()[0],
        kd: r.terms.kd.dataSync()[0],
        total: r.total.dataSync()[0],
      };
    });
  }

  it('reproduces every term and the total of a float64 reference', () => {
    const got = compute(t);
    const want = referenceLoss(rows(t, P), rows(t0, P), f, y, E, E0);
    for (const k of ['ce', 'wc', 'cos', 'kd', 'total'] as const) expect(got[k]).toBeCloseTo(want[k], 4);
  });

  it('has the gradient of the reference w.r.t. the text features (p not detached)', () => {
    const grad = tf.tidy(() =>
      tf
        .grad(
          (tt: tf.Tensor) =>
            lammLoss(
              {
                textFeatures: tt as tf.Tensor2D,
                zeroShotFeatures: tf.tensor2d(t0, [C, P]),
                imageFeatures: tf.tensor2d(f.flat(), [B, P]),
                oneHotLabels: oneHot(y, C),
                labelEmbeddings: null,
                initialLabelEmbeddings: null,
                logitScale,
              },
              weights,
            ).total,
        )(tf.tensor2d(t, [C, P]))
        .dataSync(),
    );
    const h = 1e-5;
    for (let i = 0; i < t.length; i++) {
      const plus = [...t];
      plus[i] += h;
      const minus = [...t];
      minus[i] -= h;
      const ref = (x: number[]) => referenceLoss(rows(x, P), rows(t0, P), f, y, E, E0);
      const numeric = (ref(plus).total - ref(plus).wc * weights.wc - (ref(minus).total - ref(minus).wc * weights.wc)) / (2 * h);
      expect(grad[i]).toBeCloseTo(numeric, 3);
    }
  });

  it('gives L_COS as the official FeatureLoss: 0 on a batch of one class, the plain mean otherwise', () => {
    // trainers/coop.py FeatureLoss, line for line: a sample counts when another class is in the batch.
    const featureLoss = (labels: number[]) => {
      const tn = rows(t, P).map(norm),
        t0n = rows(t0, P).map(norm);
      let loss = 0,
        n = 0;
      for (const c of labels)
        if (labels.some((o) => o !== c)) {
          loss += 1 - dot(tn[c], t0n[c]);
          n++;
        }
      return n ? loss / n : loss;
    };
    for (const labels of [[1, 1, 1, 1, 1], [2, 2, 2, 2, 0], [0, 2, 1, 2, 0], [0]]) {
      const cos = tf.tidy(
        () =>
          lammLoss(
            {
              textFeatures: tf.tensor2d(t, [C, P]),
              zeroShotFeatures: tf.tensor2d(t0, [C, P]),
              imageFeatures: tf.tensor2d(f.flat().slice(0, labels.length * P), [labels.length, P]),
              oneHotLabels: oneHot(labels, C),
              labelEmbeddings: null,
              initialLabelEmbeddings: null,
              logitScale,
            },
            weights,
          ).terms.cos.dataSync()[0],
      );
      expect(cos, labels.join(',')).toBeCloseTo(featureLoss(labels), 5);
    }
    expect(featureLoss([1, 1, 1, 1, 1])).toBe(0);
  });

  it('leaks no tensors', () => {
    compute(t);
    const before = tf.memory().numTensors;
    compute(t);
    expect(tf.memory().numTensors).toBe(before);
  });
});

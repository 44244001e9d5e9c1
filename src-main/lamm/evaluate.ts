// Classification with a linear head of normalised text features, and its accuracy: shared by
// the trained run, the zero-shot baseline, a merged class-incremental classifier and an export.
import * as tf from '@tensorflow/tfjs';
import { readAndDispose } from '../backend';
import { normalizeRow } from '../clip';
import { cosineLogits } from './loss';

export interface Prediction {
  /** Predicted class index. */
  predicted: number;
  /** Its softmax probability under the model's logit scale. */
  probability: number;
}

export interface Accuracy {
  accuracy: number;
  /** Per class index (classes without test images are absent). */
  perClass: Map<number, number>;
}

/**
 * Softmax probabilities [N, C] for normalised image features [N, P] (flat) against normalised text features [C, P] (flat).
 * Async: a GPU backend (webgpu) can only read its results back with await.
 */
export async function classProbabilities(imageFeatures: Float32Array, textFeatures: Float32Array, width: number, logitScale: number): Promise<Float32Array> {
  const n = imageFeatures.length / width;
  const c = textFeatures.length / width;
  if (n === 0) return new Float32Array(0);
  return readAndDispose(tf.tidy(() => tf.softmax(cosineLogits(tf.tensor2d(imageFeatures, [n, width]), tf.tensor2d(textFeatures, [c, width]), logitScale))));
}

/** Index of the largest value (the first of ties); -1 for an empty array. */
export function argmax(values: ArrayLike<number>): number {
  let best = values.length ? 0 : -1;
  for (let k = 1; k < values.length; k++) if (values[k] > values[best]) best = k;
  return best;
}

export async function predict(imageFeatures: Float32Array, textFeatures: Float32Array, width: number, logitScale: number): Promise<Prediction[]> {
  const c = textFeatures.length / width;
  const probs = await classProbabilities(imageFeatures, textFeatures, width, logitScale);
  const out: Prediction[] = [];
  for (let i = 0; i < probs.length / c; i++) {
    const row = probs.subarray(i * c, (i + 1) * c);
    const best = argmax(row);
    out.push({ predicted: best, probability: row[best] });
  }
  return out;
}

export function accuracyOf(predicted: number[], labels: number[]): Accuracy {
  const hits = new Map<number, { right: number; total: number }>();
  let right = 0;
  labels.forEach((y, i) => {
    const h = hits.get(y) ?? { right: 0, total: 0 };
    h.total++;
    if (predicted[i] === y) {
      h.right++;
      right++;
    }
    hits.set(y, h);
  });
  const perClass = new Map([...hits].sort(([a], [b]) => a - b).map(([c, h]) => [c, h.right / h.total]));
  return { accuracy: labels.length ? right / labels.length : 0, perClass };
}

/** L2-normalises each row of a flat [N, P] array in place; returns it. */
export function normaliseRows(x: Float32Array, width: number): Float32Array {
  for (let off = 0; off < x.length; off += width) normalizeRow(x.subarray(off, off + width));
  return x;
}

// LAMM's hierarchical loss (DESIGN §3), as a pure function of tensors so it can be checked
// against the golden terms and gradient without a trainer around it:
//   L = CE(z, y) + λ_wc·Σ(E−E0)² + λ_cos·mean_i(1 − cos(t_{y_i}, t0_{y_i})) + λ_kd·T²·mean_i(−Σ_c p_ic·log q_ic)
// with z = s·f·tᵀ, z0 = s·f·t0ᵀ, p = softmax(z/T) (not detached: the released code lets the
// gradient flow through the trained side), q = softmax(z0/T).
// t0 is constant in pure LAMM; in CoOp+LAMM it is re-encoded every step from the current
// context, and as in the official FeatureLoss only L_COS sees it detached (the KD term's
// gradient reaches the context through z0). L_COS is 0 on a batch of one class, as there.
// Labels enter as a one-hot matrix, never through gather (which has no gradient on wasm).
import * as tf from '@tensorflow/tfjs';
import type { LossWeights } from './config';
import { LOSS_TERMS, type LossTermValues } from './loss-terms';

export interface LossInputs {
  /** Text features of the trained prompts [C, P], unnormalised (straight from the text encoder). */
  textFeatures: tf.Tensor2D;
  /** The anchor t0 [C, P] (unnormalised is fine): zero-shot features, constant or from this step's context. */
  zeroShotFeatures: tf.Tensor2D;
  /** Image features [B, P], already L2-normalised. */
  imageFeatures: tf.Tensor2D;
  /** One-hot labels [B, C]. */
  oneHotLabels: tf.Tensor2D;
  /** Trained label embeddings E and their initial values E0 [C, minLen, D]; null when no label tokens are trained (CoOp). */
  labelEmbeddings: tf.Tensor3D | null;
  initialLabelEmbeddings: tf.Tensor3D | null;
  /** The model's stored (log) logit scale. */
  logitScale: number;
}

export interface LossResult {
  /** Σ λ·term over LOSS_TERMS. */
  total: tf.Scalar;
  /** Each term before its λ. */
  terms: LossTermValues<tf.Scalar>;
  /** z = s·f·tᵀ [B, C], for training accuracy. */
  logits: tf.Tensor2D;
}

export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.sqrt(tf.sum(tf.square(x), 1, true))));
}

/** x in the forward pass, no gradient in the backward one (torch's .detach()). */
export const stopGradient = tf.customGrad((x) => ({ value: tf.clone(x as tf.Tensor), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as <T extends tf.Tensor>(
  x: T,
) => T;

/** Scaled cosine logits s·f·tᵀ for normalised image features f [B,P] and normalised text features t [C,P]. */
export function cosineLogits(imageFeatures: tf.Tensor2D, normalisedText: tf.Tensor2D, logitScale: number): tf.Tensor2D {
  return tf.tidy(() => tf.mul(tf.matMul(imageFeatures, normalisedText, false, true), Math.exp(logitScale)));
}

export function lammLoss(x: LossInputs, w: LossWeights): LossResult {
  return tf.tidy(() => {
    const batch = x.imageFeatures.shape[0];
    const t = l2Normalize(x.textFeatures);
    const t0 = l2Normalize(x.zeroShotFeatures);
    const z = cosineLogits(x.imageFeatures, t, x.logitScale);
    const z0 = cosineLogits(x.imageFeatures, t0, x.logitScale);

    const ce = tf.neg(tf.mean(tf.sum(tf.mul(x.oneHotLabels, tf.logSoftmax(z)), 1))) as tf.Scalar;

    const wc = (
      x.labelEmbeddings && x.initialLabelEmbeddings ? tf.sum(tf.square(tf.sub(x.labelEmbeddings, x.initialLabelEmbeddings))) : tf.scalar(0)
    ) as tf.Scalar;

    // 1 − cos per class, averaged over the batch by each sample's class; the official
    // FeatureLoss counts a sample only when another class is in the batch, so a batch of one
    // class gives 0 and any other batch the plain mean.
    const oneMinusCos = tf.sub(1, tf.sum(tf.mul(t, stopGradient(t0)), 1)); // [C]
    const mixed = tf.cast(tf.greater(tf.sum(tf.max(x.oneHotLabels, 0)), 1), 'float32');
    const cos = tf.mul(mixed, tf.div(tf.sum(tf.mul(x.oneHotLabels, oneMinusCos)), batch)) as tf.Scalar;

    const p = tf.softmax(tf.div(z, w.T));
    const logQ = tf.logSoftmax(tf.div(z0, w.T));
    const kd = tf.mul(w.T * w.T, tf.neg(tf.mean(tf.sum(tf.mul(p, logQ), 1)))) as tf.Scalar;

    const terms: LossTermValues<tf.Scalar> = { ce, wc, cos, kd };
    const total = tf.addN(LOSS_TERMS.map((term) => (term.weight === null ? terms[term.name] : tf.mul(w[term.weight], terms[term.name])))) as tf.Scalar;
    return { total, terms, logits: z };
  });
}

/** One batch's side of the loss: everything but the text features and label embeddings being trained. */
export type BatchInputs = Omit<LossInputs, 'textFeatures' | 'labelEmbeddings'>;

/**
 * The loss of one batch as the step differentiates it (lamm/step.ts): a function of the text
 * features and label embeddings, and of this step's anchor when it follows the context
 * (CoOp + LAMM; else the batch's constant zero-shot features).
 */
export function batchLoss(batch: BatchInputs, w: LossWeights) {
  return (textFeatures: tf.Tensor2D, labelEmbeddings: tf.Tensor3D | null, anchorFeatures: tf.Tensor2D | null = null): LossResult =>
    lammLoss({ ...batch, textFeatures, labelEmbeddings, zeroShotFeatures: anchorFeatures ?? batch.zeroShotFeatures }, w);
}

/** One-hot rows [B, C] (built directly: tf.oneHot refuses a single class, which a class-incremental task may have). */
export function oneHot(labels: number[], numClasses: number): tf.Tensor2D {
  const values = new Float32Array(labels.length * numClasses);
  labels.forEach((y, i) => {
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) throw new Error(`label ${y} is outside 0..${numClasses - 1}`);
    values[i * numClasses + y] = 1;
  });
  return tf.tensor2d(values, [labels.length, numClasses]);
}

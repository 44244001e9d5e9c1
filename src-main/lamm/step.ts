// The loss and its gradients for one training step. All classes' prompts go through the text
// encoder, but a backward pass keeps every layer's activations for every token, and the wasm
// heap (4 GiB) overflows from about 1,600 tokens per step. Above `tokensPerPass` the step is
// therefore computed exactly in pieces: (1) text features of all classes without a tape,
// (2) the loss and dL/dt, (3) per chunk of classes, the vector-Jacobian product
// dL/dt_chunk · ∂t_chunk/∂(E_chunk, context) with the chunk's forward recomputed. The result
// equals the single-pass gradient up to float summation order, for about one extra forward pass.
import * as tf from '@tensorflow/tfjs';
import type { LossResult } from './loss';
import type { PromptEncoder } from './text';

/** Prompt tokens per taped text pass; chunks are sized to stay under it. */
export const TOKENS_PER_PASS = 1024;

export interface StepInputs {
  encoder: PromptEncoder;
  /** Trained label embeddings (LAMM), else null. */
  labels: tf.Variable<tf.Rank.R3> | null;
  /** Trained context (CoOp), else null. */
  context: tf.Variable<tf.Rank.R2> | null;
  /** The loss of this batch given text features [C, P] and the label embeddings (for the wc term). */
  loss(textFeatures: tf.Tensor2D, labels: tf.Tensor3D | null): LossResult;
}

export interface StepResult {
  /** Gradient per trained variable, by variable name. */
  grads: tf.NamedTensorMap;
  /** [total, ce, wc, cos, kd]. */
  terms: tf.Tensor1D;
  /** Predicted class per batch sample. */
  predicted: tf.Tensor1D;
}

function keepTerms(r: LossResult): { terms: tf.Tensor1D; predicted: tf.Tensor1D } {
  return { terms: tf.keep(tf.stack([r.total, r.ce, r.wc, r.cos, r.kd]) as tf.Tensor1D), predicted: tf.keep(tf.argMax(r.logits, 1) as tf.Tensor1D) };
}

export function lossAndGradients(x: StepInputs, tokensPerPass = TOKENS_PER_PASS): StepResult {
  const { encoder, labels, context } = x;
  const params = [labels, context].filter((v) => v !== null) as tf.Variable[];
  const perClass = encoder.tokensPerClass(context ?? undefined);
  const chunk = Math.max(1, Math.floor(tokensPerPass / perClass));
  if (encoder.classes <= chunk) {
    let kept!: { terms: tf.Tensor1D; predicted: tf.Tensor1D };
    const { value, grads } = tf.variableGrads(() => {
      const r = x.loss(encoder.encode(labels ?? undefined, context ?? undefined), labels);
      kept = keepTerms(r);
      return r.total;
    }, params);
    value.dispose();
    return { grads, ...kept };
  }

  const ranges: [number, number][] = [];
  for (let s = 0; s < encoder.classes; s += chunk) ranges.push([s, Math.min(encoder.classes, s + chunk)]);
  const slice = (t: tf.Tensor3D, [s, e]: [number, number]) => tf.slice(t, [s, 0, 0], [e - s, -1, -1]);

  // (1) Features of all classes, no tape.
  const text = tf.tidy(() => tf.concat(ranges.map((r) => encoder.encode(labels ? slice(labels, r) : undefined, context ?? undefined, r[0], r[1])), 0) as tf.Tensor2D);
  // (2) The loss, dL/dt, and the direct dL/dE of the wc term.
  let kept!: { terms: tf.Tensor1D; predicted: tf.Tensor1D };
  const lossOf = (t: tf.Tensor, e?: tf.Tensor) => {
    const r = x.loss(t as tf.Tensor2D, (e as tf.Tensor3D | undefined) ?? null);
    kept = keepTerms(r);
    return r.total;
  };
  const { value, grads: outer } = tf.valueAndGrads(lossOf)(labels ? [text, labels] : [text]);
  value.dispose();
  text.dispose();
  const [dText, dLabelsDirect] = outer;

  // (3) Per chunk: recompute its forward on a tape and pull dL/dt back to E_chunk and the context.
  const labelParts: tf.Tensor[] = [];
  let dContext: tf.Tensor | null = null;
  for (const r of ranges) {
    const inputs: tf.Tensor[] = [];
    if (labels) inputs.push(slice(labels, r));
    if (context) inputs.push(context);
    const upstream = tf.slice(dText, [r[0], 0], [r[1] - r[0], -1]);
    const g = tf.grads((...xs: tf.Tensor[]) => {
      const e = labels ? (xs[0] as tf.Tensor3D) : undefined;
      const c = context ? (xs[labels ? 1 : 0] as tf.Tensor2D) : undefined;
      return tf.sum(tf.mul(encoder.encode(e, c, r[0], r[1]), upstream));
    })(inputs);
    tf.dispose([upstream, ...(labels ? [inputs[0]] : [])]);
    if (labels) labelParts.push(g[0]);
    if (context) {
      const gc = g[labels ? 1 : 0];
      if (dContext) {
        const sum: tf.Tensor = tf.add(dContext, gc);
        tf.dispose([dContext, gc]);
        dContext = sum;
      } else {
        dContext = gc;
      }
    }
  }
  dText.dispose();
  const grads: tf.NamedTensorMap = {};
  if (labels) {
    grads[labels.name] = tf.tidy(() => tf.add(tf.concat(labelParts, 0), dLabelsDirect));
    tf.dispose([...labelParts, dLabelsDirect]);
  }
  if (context && dContext) grads[context.name] = dContext;
  return { grads, ...kept };
}

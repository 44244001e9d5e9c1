// The loss and its gradients for one training step. All classes' prompts go through the text
// encoder, but a taped pass keeps every layer's activations for every token, and the wasm heap
// (4 GiB) cannot hold them for thousands of prompt tokens. Above `tokensPerPass` the step is
// therefore computed exactly in pieces: (1) text features of every chunk of classes without a
// tape, each chunk keeping its activations in JS memory, (2) the loss and dL/dt, (3) per chunk,
// its backward pass from dL/dt_chunk to E_chunk and the context. The result equals the
// single-pass gradient up to float summation order, with no extra forward pass.
// With `anchor` (CoOp+LAMM) the anchor t0 = text(E0, current context) is encoded in the same
// step and differentiated like t: its gradient reaches the context (the official code).
import * as tf from '@tensorflow/tfjs';
import type { LossResult } from './loss';
import { LOSS_TERMS } from './loss-terms';
import type { PromptEncoder } from './text';

/** Prompt tokens up to which a step is one taped text pass (its tape must fit the wasm heap). */
export const TOKENS_PER_PASS = 1024;
/** Prompt tokens per chunk of a larger step (bounds the transient memory of one chunk's passes). */
export const TOKENS_PER_CHUNK = 8192;

export interface StepInputs {
  encoder: PromptEncoder;
  /** Trained label embeddings (LAMM), else null. */
  labels: tf.Variable<tf.Rank.R3> | null;
  /** Trained context (CoOp), else null. */
  context: tf.Variable<tf.Rank.R2> | null;
  /** Encode the anchor t0 from E0 and the current context in this step (CoOp+LAMM); else the loss holds a constant t0. */
  anchor?: boolean;
  /** The loss of this batch given text features [C, P], the label embeddings (for the wc term) and, with `anchor`, t0 [C, P]. */
  loss(textFeatures: tf.Tensor2D, labels: tf.Tensor3D | null, anchorFeatures: tf.Tensor2D | null): LossResult;
}

export interface StepResult {
  /** Gradient per trained variable, by variable name. */
  grads: tf.NamedTensorMap;
  /** [total, then each term in LOSS_TERMS order]. */
  terms: tf.Tensor1D;
  /** Predicted class per batch sample. */
  predicted: tf.Tensor1D;
}

function keepTerms(r: LossResult): { terms: tf.Tensor1D; predicted: tf.Tensor1D } {
  return {
    terms: tf.keep(tf.stack([r.total, ...LOSS_TERMS.map((t) => r.terms[t.name])]) as tf.Tensor1D),
    predicted: tf.keep(tf.argMax(r.logits, 1) as tf.Tensor1D),
  };
}

export function lossAndGradients(x: StepInputs, tokensPerPass = TOKENS_PER_PASS, tokensPerChunk = TOKENS_PER_CHUNK): StepResult {
  const { encoder, labels, context } = x;
  const anchor = x.anchor === true && context !== null;
  const params = [labels, context].filter((v) => v !== null) as tf.Variable[];
  const perClass = encoder.tokensPerClass(context ?? undefined);
  if (encoder.classes * perClass * (anchor ? 2 : 1) <= tokensPerPass) {
    let kept!: { terms: tf.Tensor1D; predicted: tf.Tensor1D };
    const { value, grads } = tf.variableGrads(() => {
      const anchorFeatures = anchor ? encoder.encode(undefined, context) : null;
      const r = x.loss(encoder.encode(labels ?? undefined, context ?? undefined), labels, anchorFeatures);
      kept = keepTerms(r);
      return r.total;
    }, params);
    value.dispose();
    return { grads, ...kept };
  }

  const chunk = Math.max(1, Math.floor(tokensPerChunk / perClass));
  const ranges: [number, number][] = [];
  for (let s = 0; s < encoder.classes; s += chunk) ranges.push([s, Math.min(encoder.classes, s + chunk)]);
  const slice = (t: tf.Tensor3D, [s, e]: [number, number]) => tf.slice(t, [s, 0, 0], [e - s, -1, -1]) as tf.Tensor3D;

  // (1) Features of every chunk, no tape; each chunk keeps its activations for its backward pass.
  const encodeChunks = (trained: boolean) => {
    const passes = ranges.map((r) => {
      const part = trained && labels ? slice(labels, r) : undefined;
      const pass = encoder.encodeKeeping(part, context ?? undefined, r[0], r[1]);
      part?.dispose();
      return pass;
    });
    const features = tf.concat(
      passes.map((p) => p.features),
      0,
    ) as tf.Tensor2D;
    tf.dispose(passes.map((p) => p.features));
    return { passes, features };
  };
  const trainedPasses = encodeChunks(true);
  const anchorPasses = anchor ? encodeChunks(false) : null;
  // (2) The loss, dL/dt (and dL/dt0), and the direct dL/dE of the wc term.
  let kept!: { terms: tf.Tensor1D; predicted: tf.Tensor1D };
  const lossOf = (...args: tf.Tensor[]) => {
    const [t, t0, e] = anchor ? args : [args[0], null, args[1]];
    const r = x.loss(t as tf.Tensor2D, (e as tf.Tensor3D | undefined) ?? null, t0 as tf.Tensor2D | null);
    kept = keepTerms(r);
    return r.total;
  };
  const inputs = [trainedPasses.features, ...(anchorPasses ? [anchorPasses.features] : []), ...(labels ? [labels] : [])];
  const { value, grads: outer } = tf.valueAndGrads(lossOf)(inputs);
  value.dispose();
  tf.dispose([trainedPasses.features, ...(anchorPasses ? [anchorPasses.features] : [])]);
  const dText = outer[0];
  const dAnchor = anchorPasses ? outer[1] : null;
  const dLabelsDirect = labels ? outer[outer.length - 1] : undefined;

  // (3) Per chunk: its backward pass from dL/dt_chunk, to E_chunk and the context (and from
  // dL/dt0_chunk to the context; t0's label tokens are the constant E0).
  const labelParts: tf.Tensor[] = [];
  let dContext: tf.Tensor | null = null;
  const backward = (passes: typeof trainedPasses.passes, upstreamAll: tf.Tensor, keepLabels: boolean) =>
    passes.forEach((pass, i) => {
      const r = ranges[i];
      const upstream = tf.slice(upstreamAll, [r[0], 0], [r[1] - r[0], -1]) as tf.Tensor2D;
      const g = pass.backward(upstream);
      upstream.dispose();
      if (keepLabels && labels) labelParts.push(g.labels);
      else g.labels.dispose();
      if (context && g.context) {
        const sum: tf.Tensor = dContext ? tf.add(dContext, g.context) : g.context;
        if (dContext) tf.dispose([dContext, g.context]);
        dContext = sum;
      } else {
        g.context?.dispose();
      }
    });
  backward(trainedPasses.passes, dText, true);
  if (anchorPasses && dAnchor) backward(anchorPasses.passes, dAnchor, false);
  tf.dispose([dText, ...(dAnchor ? [dAnchor] : [])]);
  const grads: tf.NamedTensorMap = {};
  if (labels) {
    grads[labels.name] = tf.tidy(() => tf.add(tf.concat(labelParts, 0), dLabelsDirect!));
    tf.dispose([...labelParts, dLabelsDirect!]);
  }
  if (context && dContext) grads[context.name] = dContext;
  return { grads, ...kept };
}

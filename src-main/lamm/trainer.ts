// The training loop shared by LAMM, CoOp and CoOp+LAMM (DESIGN §3): trainable label tokens E
// and/or a trainable template context, SGD with momentum and weight decay (PyTorch semantics),
// a warm-up epoch then cosine, seeded batches over the training images' augmented views.
// In CoOp+LAMM the anchor t0 follows the learned context (see anchorFollowsContext).
// It knows nothing of the project store: features arrive through `TrainingData`.
import * as tf from '@tensorflow/tfjs';
import { readAndDispose } from '../tensor-read';
import { mulberry32 } from '../clip/random';
import type { ClipModel } from '../clip/types';
import { throwIfCancelled, type JobContext } from '../jobs/context';
import { effectiveLossWeights, type LossWeights, type TrainConfig } from './config';
import { batchLoss, l2Normalize, oneHot } from './loss';
import { LOSS_TERMS, termsFromList, WEIGHTED_LOSS_TERMS, type LossTermValues } from './loss-terms';
import { METHOD_SPECS } from './methods';
import type { LabelTokenSetup } from './prompts';
import { epochBatches, stepsPerEpoch, type Sample } from './sampling';
import { learningRate } from './schedule';
import { lossAndGradients, TOKENS_PER_PASS, type StepResult } from './step';
import { PromptEncoder } from './text';

export interface TrainingData {
  /** Class index of each training image. */
  labels: number[];
  /** L2-normalised image features [samples.length, P] of one batch (a cached view, or a fresh augmentation). The trainer disposes it. */
  batchFeatures(samples: Sample[]): tf.Tensor2D | Promise<tf.Tensor2D>;
}

export interface StepEvent {
  epoch: number;
  step: number;
  steps: number;
  lr: number;
  /** The weighted total. */
  loss: number;
  terms: LossTermValues;
  /** Accuracy on this batch. */
  trainAccuracy: number;
}

export interface EpochSummary {
  epoch: number;
  lr: number;
  /** The weighted total and each term before its λ, averaged over the epoch's steps (a run logged before a term existed reads it NaN). */
  loss: number;
  terms: LossTermValues;
  trainAccuracy: number;
  seconds: number;
}

/** One epoch as the run log stores it and the contract sends it: the summary, and the test accuracy of the last epoch once evaluated. */
export interface EpochRecord extends EpochSummary {
  testAccuracy: number | null;
}

export interface TrainHooks {
  ctx?: JobContext;
  /** Prompt tokens per taped text pass (see step.ts); tests lower it to exercise the chunked path. */
  tokensPerPass?: number;
  onStep?(e: StepEvent): void;
  onEpoch?(e: EpochSummary): void;
}

export interface TrainedPrompts {
  /** Learned label embeddings E [C, minLen, D] (equal to E0 for CoOp). */
  labelEmbeddings: Float32Array;
  /** E0 [C, minLen, D]. */
  initialLabelEmbeddings: Float32Array;
  /** Learned context [n, D] (CoOp, CoOp+LAMM), else null. */
  context: Float32Array | null;
  /** Normalised text features of the trained prompts [C, P]: the classifier. */
  textFeatures: Float32Array;
  /** Normalised zero-shot text features [C, P] (template, E0). */
  zeroShotFeatures: Float32Array;
  history: EpochSummary[];
  /** Seconds spent per training step, on average. */
  secondsPerStep: number;
}

/** The λ's a method trains with: its table row says hierarchical loss or plain cross-entropy (the released CoOp). */
export function lossWeightsFor(config: TrainConfig): LossWeights {
  const w = effectiveLossWeights(config);
  if (METHOD_SPECS[config.method].loss === 'lamm') return w;
  return { ...w, ...Object.fromEntries(WEIGHTED_LOSS_TERMS.map((t) => [t.weight, 0])) };
}

/**
 * Whether t0 is re-encoded every step from the current context (CoOp+LAMM, as the official
 * code): whenever the context trains and a term reads t0. Otherwise t0 is the constant zero-shot.
 */
export function anchorFollowsContext(trainsContext: boolean, w: LossWeights): boolean {
  return trainsContext && (w.cos > 0 || w.kd > 0);
}

export interface TrainingStepInputs {
  encoder: PromptEncoder;
  labels: tf.Variable<tf.Rank.R3> | null;
  context: tf.Variable<tf.Rank.R2> | null;
  /** See anchorFollowsContext. */
  anchor: boolean;
  /** The constant zero-shot t0 [C, P], used when `anchor` is false. */
  zeroShot: tf.Tensor2D;
  imageFeatures: tf.Tensor2D;
  oneHotLabels: tf.Tensor2D;
  weights: LossWeights;
  logitScale: number;
}

/** One batch's loss terms and gradients, as the training loop takes them. */
export function trainingStep(s: TrainingStepInputs, tokensPerPass = TOKENS_PER_PASS): StepResult {
  return lossAndGradients(
    {
      encoder: s.encoder,
      labels: s.labels,
      context: s.context,
      anchor: s.anchor,
      loss: batchLoss(
        {
          zeroShotFeatures: s.zeroShot,
          imageFeatures: s.imageFeatures,
          oneHotLabels: s.oneHotLabels,
          initialLabelEmbeddings: s.encoder.initialLabels,
          logitScale: s.logitScale,
        },
        s.weights,
      ),
    },
    tokensPerPass,
  );
}

/** SGD with momentum and L2 weight decay as torch.optim.SGD (dampening 0, no Nesterov). */
class Sgd {
  private readonly buffers = new Map<string, tf.Variable>();
  constructor(
    private readonly momentum: number,
    private readonly weightDecay: number,
  ) {}

  step(params: tf.Variable[], grads: tf.NamedTensorMap, lr: number): void {
    tf.tidy(() => {
      for (const p of params) {
        const d = tf.add(grads[p.name], tf.mul(p, this.weightDecay));
        const buf = this.buffers.get(p.name);
        const next = buf ? tf.add(tf.mul(buf, this.momentum), d) : d;
        if (buf) buf.assign(next);
        else this.buffers.set(p.name, tf.variable(next, false));
        p.assign(tf.sub(p, tf.mul(next, lr)));
      }
    });
  }

  dispose(): void {
    tf.dispose([...this.buffers.values()]);
  }
}

export async function trainPrompts(
  model: ClipModel,
  setup: LabelTokenSetup,
  config: TrainConfig,
  data: TrainingData,
  hooks: TrainHooks = {},
): Promise<TrainedPrompts> {
  const classes = setup.promptIds.length;
  const imageCount = data.labels.length;
  if (imageCount === 0) throw new Error('there are no training images');
  const weights = lossWeightsFor(config);
  const encoder = new PromptEncoder(model, setup);
  const sgd = new Sgd(config.momentum, config.weightDecay);
  const method = METHOD_SPECS[config.method];
  const labelVar = method.trainsLabels ? tf.variable<tf.Rank.R3>(encoder.initialLabels, true) : null;
  const contextVar = method.trainsContext ? tf.variable<tf.Rank.R2>(encoder.initialContext, true) : null;
  if (contextVar && contextVar.shape[0] === 0) throw new Error(`template "${setup.template}" has no words before {} for CoOp to learn as context`);
  const params = [labelVar, contextVar].filter((v) => v !== null) as tf.Variable[];
  const zeroShot = tf.tidy(() => l2Normalize(encoder.encode()));
  const anchor = anchorFollowsContext(contextVar !== null, weights);
  const random = mulberry32(config.seed);
  const history: EpochSummary[] = [];
  const steps = stepsPerEpoch(imageCount, config.batchSize);
  const tokensPerPass = hooks.tokensPerPass ?? TOKENS_PER_PASS;
  let stepSeconds = 0;
  let stepCount = 0;
  try {
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      const started = performance.now();
      const lr = learningRate(epoch, config);
      const sums = new Float64Array(1 + LOSS_TERMS.length); // total, then each term
      let right = 0;
      let seen = 0;
      const batches = epochBatches(imageCount, config.views, config.batchSize, random);
      for (let step = 0; step < batches.length; step++) {
        // Yield to the event loop so a cancel message can arrive between steps.
        await new Promise((resolve) => setImmediate(resolve));
        throwIfCancelled(hooks.ctx);
        const stepStarted = performance.now();
        const batch = batches[step];
        const batchLabels = batch.map((s) => data.labels[s.image]);
        const features = await data.batchFeatures(batch);
        const y = oneHot(batchLabels, classes);
        const {
          grads,
          terms: termTensor,
          predicted: predictedTensor,
        } = trainingStep(
          {
            encoder,
            labels: labelVar,
            context: contextVar,
            anchor,
            zeroShot,
            imageFeatures: features,
            oneHotLabels: y,
            weights,
            logitScale: model.logitScale,
          },
          tokensPerPass,
        );
        sgd.step(params, grads, lr);
        tf.dispose([...Object.values(grads), features, y]);
        const termValues = await readAndDispose(termTensor);
        const predicted = await readAndDispose(predictedTensor);

        termValues.forEach((v, i) => (sums[i] += v));
        const loss = termValues[0];
        const batchRight = batchLabels.filter((label, i) => predicted[i] === label).length;
        right += batchRight;
        seen += batch.length;
        stepSeconds += (performance.now() - stepStarted) / 1000;
        stepCount++;
        hooks.onStep?.({ epoch, step, steps, lr, loss, terms: termsFromList(termValues, 1), trainAccuracy: batchRight / batch.length });
        hooks.ctx?.progress({
          stage: 'train',
          done: epoch * steps + step + 1,
          total: config.epochs * steps,
          message: `epoch ${epoch + 1}/${config.epochs} loss ${loss.toFixed(4)}`,
        });
      }
      const summary: EpochSummary = {
        epoch,
        lr,
        loss: sums[0] / batches.length,
        terms: termsFromList(
          sums.map((v) => v / batches.length),
          1,
        ),
        trainAccuracy: right / seen,
        seconds: (performance.now() - started) / 1000,
      };
      history.push(summary);
      hooks.onEpoch?.(summary);
    }
    const finalFeatures = tf.tidy(() => l2Normalize(encoder.encode(labelVar ?? undefined, contextVar ?? undefined)));
    const copy = async (t: tf.Tensor) => ((await t.data()) as Float32Array).slice();
    const result: TrainedPrompts = {
      labelEmbeddings: await copy(labelVar ?? encoder.initialLabels),
      initialLabelEmbeddings: await copy(encoder.initialLabels),
      context: contextVar ? await copy(contextVar) : null,
      textFeatures: await copy(finalFeatures),
      zeroShotFeatures: await copy(zeroShot),
      history,
      secondsPerStep: stepCount ? stepSeconds / stepCount : 0,
    };
    finalFeatures.dispose();
    return result;
  } finally {
    sgd.dispose();
    tf.dispose([zeroShot, ...params]);
    encoder.dispose();
  }
}

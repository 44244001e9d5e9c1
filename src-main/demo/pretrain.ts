// Pretrains the demo's tiny CLIP on the synthetic world with this project's own encoders:
// symmetric InfoNCE over (image, caption) pairs, AdamW, a learnable logit scale capped at 100,
// fresh images every step. The result is a Hugging Face CLIP folder (F16 weights, a small
// CLIP-format BPE whose heraldic words never appear in a caption).
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, describeBackend } from '../backend';
import { CLIP_MEAN, CLIP_STD, parseClipConfig, parsePreprocessConfig, type ClipConfig, type PreprocessConfig } from '../clip/config';
import { textForward, visionForward } from '../clip/encoders';
import { padTokenRows } from '../clip/model';
import { augmentedView } from '../clip/augment';
import { toPixelValues } from '../clip/preprocess';
import { deriveSeed, mulberry32, shuffleInPlace } from '../clip/random';
import { writeSafetensors } from '../clip/safetensors';
import { syntheticConfigJson, type SyntheticClipSpec } from '../clip/synthetic';
import { ClipTokenizer } from '../clip/tokenizer';
import { buildWeights, disposeWeights, randomHfTensors, weightTensors, weightsToHf, type ClipWeights } from '../clip/weights';
import { throwIfCancelled, type JobContext } from '../jobs/context';
import { captionFor } from './captions';
import { buildVocabulary, demoVocabularyWords, writeJson, writeTokenizerFiles } from './vocabulary';
import { allConcepts, renderScene, sampleScene, sizeWord } from './world';

export interface PretrainSettings {
  seed: number;
  steps: number;
  /** Pairs per step; up to the number of concepts, a batch never shows one concept twice (no false negatives). */
  batchSize: number;
  lr: number;
  warmupSteps: number;
  /** AdamW's decoupled weight decay, on matrices only (not biases, norms, embeddings). */
  weightDecay: number;
  /**
   * Learning-rate factor for the text token and position embeddings. Kept small so taught
   * tokens stay at the scale of the untaught ones (init std 0.02, about a real CLIP's), which
   * is the scale LAMM's Σ(E−E0)² penalty and its learning rate were set for.
   */
  embeddingLrScale: number;
  /**
   * Share of images shown as a random resized crop (LAMM's training augmentation) under the
   * whole scene's caption, so crops' features still say what the scene shows: LAMM trains on
   * such views of the few-shot images.
   */
  cropProbability: number;
  /** The stored logit scale is clamped to ln(this) after every step, as in CLIP. */
  maxTemperatureInverse: number;
  model: Pick<SyntheticClipSpec, 'text' | 'vision' | 'projection'>;
}

export const DEMO_PRETRAIN: PretrainSettings = {
  seed: 1,
  // ~98% zero-shot over all 56 concepts; about 5.5 minutes with the native GEMM on two cores.
  steps: 1200,
  // Every concept once per step.
  batchSize: allConcepts().length,
  lr: 3e-3,
  warmupSteps: 100,
  weightDecay: 0.05,
  embeddingLrScale: 0.1,
  cropProbability: 0.25,
  maxTemperatureInverse: 100,
  model: {
    text: { width: 64, layers: 3, heads: 4, context: 32 },
    vision: { width: 64, layers: 3, heads: 4, imageSize: 32, patch: 8 },
    projection: 64,
  },
};

/** Written beside the weights: the settings and outcome of the pretraining that made them. */
export const PRETRAIN_RECORD_FILE = 'demo_pretrain.json';

export interface PretrainReport {
  dir: string;
  backend: string;
  steps: number;
  seconds: number;
  vocabSize: number;
  /** Mean loss and in-batch image→text accuracy over the last 50 steps. */
  finalLoss: number;
  finalBatchAccuracy: number;
  logitScale: number;
}

function preprocessorConfigJson(imageSize: number): Record<string, unknown> {
  return {
    crop_size: { height: imageSize, width: imageSize },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: CLIP_MEAN,
    image_std: CLIP_STD,
    resample: 3,
    rescale_factor: 1 / 255,
    size: { shortest_edge: imageSize },
    image_processor_type: 'CLIPImageProcessor',
  };
}

/** Writes everything but the weights; returns the parsed config. */
function writeModelFiles(dir: string, settings: PretrainSettings): { config: ClipConfig; vocabSize: number } {
  const vocab = buildVocabulary(demoVocabularyWords());
  writeTokenizerFiles(dir, vocab, settings.model.text.context);
  const configJson = syntheticConfigJson(settings.model, vocab.tokens.length);
  writeJson(path.join(dir, 'config.json'), configJson);
  writeJson(path.join(dir, 'preprocessor_config.json'), preprocessorConfigJson(settings.model.vision.imageSize));
  return { config: parseClipConfig(configJson), vocabSize: vocab.tokens.length };
}

interface Batch {
  pixels: tf.Tensor4D;
  tokens: tf.Tensor1D;
  len: number;
  eot: number[];
}

function sampleBatch(settings: PretrainSettings, config: ClipConfig, pp: PreprocessConfig, tokenizer: ClipTokenizer, random: () => number): Batch {
  const size = config.vision.imageSize;
  const concepts = shuffleInPlace(allConcepts(), random);
  const picked = Array.from({ length: settings.batchSize }, (_, i) => concepts[i % concepts.length]);
  const pixels = new Float32Array(picked.length * size * size * 3);
  const captions: number[][] = [];
  picked.forEach((concept, i) => {
    const scene = sampleScene(concept, size, random);
    const image = { data: renderScene(scene, size), width: size, height: size };
    const view = random() < settings.cropProbability ? augmentedView(image, pp, Math.floor(random() * 2 ** 32), 1) : toPixelValues(image, pp);
    pixels.set(view, i * size * size * 3);
    captions.push(tokenizer.encodeWithSpecials(captionFor(concept, sizeWord(scene, size), random), config.text.maxPositions));
  });
  const { rows, len, eot } = padTokenRows(captions, tokenizer.eot, config.text.maxPositions);
  return { pixels: tf.tensor4d(pixels, [picked.length, size, size, 3]), tokens: tf.tensor1d(rows, 'int32'), len, eot };
}

/** Symmetric InfoNCE of one batch: image i's caption is text i and no other. */
function contrastiveLoss(w: ClipWeights, config: ClipConfig, batch: Batch, maxLogScale: number): { loss: tf.Scalar; accuracy: tf.Scalar } {
  const n = batch.eot.length;
  const { vocabSize, hiddenSize } = config.text;
  // Embedding lookup as one-hot · table: gather has no gradient on the wasm backend.
  const embeds = tf.matMul(floatOneHot(batch.tokens, vocabSize), w.text.tokenEmbedding).reshape([n, batch.len, hiddenSize]) as tf.Tensor3D;
  const text = normalize(textForward(w.text, config.text, embeds, batch.eot));
  const image = normalize(visionForward(w.vision, config.vision, batch.pixels));
  const logits = tf.mul(tf.matMul(image, tf.transpose(text)), tf.exp(tf.minimum(w.logitScale, maxLogScale)));
  const targets = floatOneHot(tf.range(0, n, 1, 'int32') as tf.Tensor1D, n);
  const loss = tf.div(tf.add(tf.losses.softmaxCrossEntropy(targets, logits), tf.losses.softmaxCrossEntropy(targets, tf.transpose(logits))), 2) as tf.Scalar;
  const accuracy = tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.range(0, n, 1, 'int32')), 'float32')) as tf.Scalar;
  return { loss, accuracy };
}

/** One-hot rows as float32. (tf.oneHot asked for float32 directly returns garbage on the wasm backend.) */
function floatOneHot(indices: tf.Tensor1D, depth: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(indices, depth), 'float32') as tf.Tensor2D;
}

function normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.norm(x, 'euclidean', 1, true));
}

/** AdamW (decoupled weight decay) with a learning-rate factor per variable. */
class AdamW {
  private readonly moments = new Map<tf.Variable, { m: tf.Variable; v: tf.Variable }>();
  private t = 0;
  constructor(
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.98,
    private readonly eps = 1e-6,
  ) {}

  step(params: { variable: tf.Variable; lrScale: number; decay: boolean }[], grads: tf.NamedTensorMap, lr: number, weightDecay: number): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    tf.tidy(() => {
      for (const { variable: p, lrScale, decay } of params) {
        const g = grads[p.name];
        let s = this.moments.get(p);
        if (!s) {
          s = { m: tf.variable(tf.zerosLike(p), false), v: tf.variable(tf.zerosLike(p), false) };
          this.moments.set(p, s);
        }
        s.m.assign(tf.add(tf.mul(s.m, this.beta1), tf.mul(g, 1 - this.beta1)));
        s.v.assign(tf.add(tf.mul(s.v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        const stepLr = lr * lrScale;
        let next = tf.sub(p, tf.mul(tf.div(tf.div(s.m, c1), tf.add(tf.sqrt(tf.div(s.v, c2)), this.eps)), stepLr));
        if (decay) next = tf.sub(next, tf.mul(p, stepLr * weightDecay));
        p.assign(next);
      }
    });
  }

  dispose(): void {
    for (const s of this.moments.values()) tf.dispose([s.m, s.v]);
  }
}

function learningRate(step: number, s: PretrainSettings): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  return 0.5 * s.lr * (1 + Math.cos((Math.PI * (step - s.warmupSteps)) / Math.max(1, s.steps - s.warmupSteps)));
}

/**
 * tfjs differentiates a plain 2-D matMul with transposed matMuls, about 15× slower than plain
 * ones on the plain wasm backend; transposing explicitly first gives the same numbers at
 * plain-matMul speed (and costs little where transposed products are fast).
 * Installed only while pretraining runs (gradients are process-global).
 */
export async function withFastMatMulGradients<T>(work: () => Promise<T>): Promise<T> {
  const original = tf.getGradient('BatchMatMul');
  tf.registerGradient({
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved;
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      if (a.rank !== 2 || b.rank !== 2 || transposeA || transposeB) return original.gradFunc(dy, saved, attrs);
      return {
        a: () => tf.matMul(dy as tf.Tensor2D, tf.transpose(b)),
        b: () => tf.matMul(tf.transpose(a), dy as tf.Tensor2D),
      };
    },
  });
  try {
    return await work();
  } finally {
    tf.registerGradient(original);
  }
}

/** Freshly initialised weights, every tensor a variable. */
function initialWeights(config: ClipConfig, seed: number): ClipWeights {
  return buildWeights(randomHfTensors(config, seed), config, { textInputGradients: false, trainable: true });
}

/** Trains a fresh demo CLIP and writes its folder to `outDir` (replacing it when complete). */
export async function pretrainDemoClip(outDir: string, settings: PretrainSettings = DEMO_PRETRAIN, ctx?: JobContext): Promise<PretrainReport> {
  const backend = await initBackend();
  const dir = path.resolve(outDir);
  // Only a previous demo model (or nothing) is replaced: never a folder of the user's.
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0 && !fs.existsSync(path.join(dir, PRETRAIN_RECORD_FILE))) {
    throw new Error(`${dir} is not empty and holds no demo model (${PRETRAIN_RECORD_FILE}); choose an empty or new folder`);
  }
  const staging = `${dir}.partial-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  try {
    const { config, vocabSize } = writeModelFiles(staging, settings);
    const pp = parsePreprocessConfig(JSON.parse(fs.readFileSync(path.join(staging, 'preprocessor_config.json'), 'utf8')), config.vision);
    const tokenizer = ClipTokenizer.fromFolder(staging);
    const weights = initialWeights(config, settings.seed);
    const started = performance.now();
    const { finalLoss, finalBatchAccuracy } = await withFastMatMulGradients(() => trainLoop(weights, config, pp, tokenizer, settings, ctx));
    const seconds = (performance.now() - started) / 1000;
    const logitScale = Math.min((await weights.logitScale.data())[0], Math.log(settings.maxTemperatureInverse));
    const tensors = await weightsToHf(weights, config);
    disposeWeights(weights);
    writeSafetensors(path.join(staging, 'model.safetensors'), tensors, { format: 'pt' }, 'F16');
    const report: PretrainReport = {
      dir,
      backend: describeBackend(backend),
      steps: settings.steps,
      seconds,
      vocabSize,
      finalLoss,
      finalBatchAccuracy,
      logitScale,
    };
    writeJson(path.join(staging, PRETRAIN_RECORD_FILE), { settings, result: { ...report, dir: undefined } });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(staging, dir);
    return report;
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

const TAIL_STEPS = 50;

async function trainLoop(
  weights: ClipWeights,
  config: ClipConfig,
  pp: PreprocessConfig,
  tokenizer: ClipTokenizer,
  s: PretrainSettings,
  ctx?: JobContext,
): Promise<{ finalLoss: number; finalBatchAccuracy: number }> {
  const variables = weightTensors(weights) as tf.Variable[];
  const embeddings = new Set<tf.Tensor>([weights.text.tokenEmbedding, weights.text.positionEmbedding]);
  const params = variables.map((v) => ({ variable: v, lrScale: embeddings.has(v) ? s.embeddingLrScale : 1, decay: v.rank === 2 && !embeddings.has(v) }));
  const optimizer = new AdamW();
  const random = mulberry32(deriveSeed(s.seed, 'pretrain-data'));
  const maxLogScale = Math.log(s.maxTemperatureInverse);
  const tail: { loss: number; accuracy: number }[] = [];
  try {
    for (let step = 0; step < s.steps; step++) {
      throwIfCancelled(ctx);
      const batch = sampleBatch(s, config, pp, tokenizer, random);
      let accuracy: tf.Scalar | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const r = contrastiveLoss(weights, config, batch, maxLogScale);
        accuracy = tf.keep(r.accuracy);
        return r.loss;
      }, variables);
      optimizer.step(params, grads, learningRate(step, s), s.weightDecay);
      const logitScale = weights.logitScale as tf.Variable;
      tf.tidy(() => logitScale.assign(tf.minimum(logitScale, maxLogScale)));
      const loss = (await value.data())[0];
      const acc = (await accuracy!.data())[0];
      tf.dispose([value, accuracy!, batch.pixels, batch.tokens, ...Object.values(grads)]);
      tail.push({ loss, accuracy: acc });
      if (tail.length > TAIL_STEPS) tail.shift();
      ctx?.progress({ stage: 'pretrain', done: step + 1, total: s.steps, message: `loss ${loss.toFixed(3)} batch accuracy ${acc.toFixed(2)}` });
      if (!Number.isFinite(loss)) throw new Error(`pretraining diverged at step ${step + 1} (loss ${loss})`);
    }
  } finally {
    optimizer.dispose();
  }
  const mean = (k: 'loss' | 'accuracy') => tail.reduce((a, t) => a + t[k], 0) / Math.max(1, tail.length);
  return { finalLoss: mean('loss'), finalBatchAccuracy: mean('accuracy') };
}

// CLIP's weights: the Hugging Face key layout (one table, `hfLayout`), the structured form the
// encoders compute with, and conversions both ways. Linear layers are kept as [in, out] because
// only plain 2-D matMul is fast on the wasm backend; frozen text layers also keep [out, in] so
// their input gradient is a plain matMul too.
import * as tf from '@tensorflow/tfjs';
import type { ClipConfig, TowerConfig } from './config';
import type { SafeTensor } from './safetensors';
import { mulberry32, normalSampler } from './random';

export interface Linear {
  /** [in, out]: y = x·wt + b. */
  wt: tf.Tensor2D;
  /** [out, in], present on frozen layers that pass gradients to their input. */
  w?: tf.Tensor2D;
  b?: tf.Tensor1D;
}

export interface LayerNorm {
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
}

export interface Block {
  ln1: LayerNorm;
  q: Linear;
  k: Linear;
  v: Linear;
  out: Linear;
  ln2: LayerNorm;
  fc1: Linear;
  fc2: Linear;
}

export interface TextWeights {
  tokenEmbedding: tf.Tensor2D;
  positionEmbedding: tf.Tensor2D;
  blocks: Block[];
  finalLn: LayerNorm;
  projection: Linear;
}

export interface VisionWeights {
  classEmbedding: tf.Tensor1D;
  /** The conv patch embedding as a matrix over flattened (row, col, channel) patches: [p·p·C, width]. */
  patchEmbedding: Linear;
  positionEmbedding: tf.Tensor2D;
  preLn: LayerNorm;
  blocks: Block[];
  postLn: LayerNorm;
  projection: Linear;
}

export interface ClipWeights {
  text: TextWeights;
  vision: VisionWeights;
  logitScale: tf.Scalar;
}

type Shape = number[];

/** Every tensor of a Hugging Face CLIPModel checkpoint with the shape config.json implies. */
export function hfLayout(config: ClipConfig): Map<string, Shape> {
  const { text, vision, projectionDim } = config;
  const layout = new Map<string, Shape>();
  const blocks = (prefix: string, t: TowerConfig) => {
    const d = t.hiddenSize;
    for (let i = 0; i < t.numLayers; i++) {
      const p = `${prefix}.encoder.layers.${i}`;
      for (const proj of ['q', 'k', 'v', 'out']) {
        layout.set(`${p}.self_attn.${proj}_proj.weight`, [d, d]);
        layout.set(`${p}.self_attn.${proj}_proj.bias`, [d]);
      }
      for (const ln of ['layer_norm1', 'layer_norm2']) {
        layout.set(`${p}.${ln}.weight`, [d]);
        layout.set(`${p}.${ln}.bias`, [d]);
      }
      layout.set(`${p}.mlp.fc1.weight`, [t.intermediateSize, d]);
      layout.set(`${p}.mlp.fc1.bias`, [t.intermediateSize]);
      layout.set(`${p}.mlp.fc2.weight`, [d, t.intermediateSize]);
      layout.set(`${p}.mlp.fc2.bias`, [d]);
    }
  };
  layout.set('text_model.embeddings.token_embedding.weight', [text.vocabSize, text.hiddenSize]);
  layout.set('text_model.embeddings.position_embedding.weight', [text.maxPositions, text.hiddenSize]);
  blocks('text_model', text);
  layout.set('text_model.final_layer_norm.weight', [text.hiddenSize]);
  layout.set('text_model.final_layer_norm.bias', [text.hiddenSize]);
  layout.set('text_projection.weight', [projectionDim, text.hiddenSize]);

  const patches = (vision.imageSize / vision.patchSize) ** 2;
  layout.set('vision_model.embeddings.class_embedding', [vision.hiddenSize]);
  layout.set('vision_model.embeddings.patch_embedding.weight', [vision.hiddenSize, vision.numChannels, vision.patchSize, vision.patchSize]);
  layout.set('vision_model.embeddings.position_embedding.weight', [patches + 1, vision.hiddenSize]);
  layout.set('vision_model.pre_layrnorm.weight', [vision.hiddenSize]);
  layout.set('vision_model.pre_layrnorm.bias', [vision.hiddenSize]);
  blocks('vision_model', vision);
  layout.set('vision_model.post_layernorm.weight', [vision.hiddenSize]);
  layout.set('vision_model.post_layernorm.bias', [vision.hiddenSize]);
  layout.set('visual_projection.weight', [projectionDim, vision.hiddenSize]);
  layout.set('logit_scale', []);
  return layout;
}

/** Tensors a checkpoint may carry that the model does not use. */
export function isIgnoredKey(name: string): boolean {
  return name.endsWith('position_ids');
}

/** How many unused tensor names an error spells out. */
const UNUSED_SHOWN = 3;

/**
 * Checks a checkpoint against config.json: every tensor present with the right shape
 * (`logit_scale` may be [] or [1]), and none left over (`*position_ids` aside): a config with
 * fewer layers than the weights would otherwise load and embed wrongly without a word.
 * Throws one line naming the first problem.
 */
export function checkCheckpoint(tensors: Map<string, { shape: number[] }>, config: ClipConfig, label: string): void {
  const layout = hfLayout(config);
  for (const [name, shape] of layout) {
    const t = tensors.get(name);
    if (!t) throw new Error(`${label}: missing tensor "${name}"`);
    const ok = name === 'logit_scale' ? t.shape.length <= 1 && t.shape.reduce((a, b) => a * b, 1) === 1 : sameShape(t.shape, shape);
    if (!ok) throw new Error(`${label}: tensor "${name}" has shape [${t.shape}] but config.json implies [${shape}]`);
  }
  const unused = [...tensors.keys()].filter((name) => !layout.has(name) && !isIgnoredKey(name));
  if (unused.length > 0) {
    const shown = unused
      .slice(0, UNUSED_SHOWN)
      .map((n) => JSON.stringify(n))
      .join(', ');
    const more = unused.length > UNUSED_SHOWN ? ` and ${unused.length - UNUSED_SHOWN} more` : '';
    const count = unused.length === 1 ? '1 tensor' : `${unused.length} tensors`;
    throw new Error(
      `${label}: ${count} ${unused.length === 1 ? 'is' : 'are'} not used by config.json: ${shown}${more} (does config.json describe these weights?)`,
    );
  }
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export interface BuildOptions {
  /** Keep [out, in] copies of text linears so gradients w.r.t. text inputs use plain matMuls. */
  textInputGradients: boolean;
  /** Make every tensor a tf.Variable (for pretraining). */
  trainable?: boolean;
}

/** Builds structured weights from float32 HF tensors (already checked with `checkCheckpoint`). */
export function buildWeights(tensors: Map<string, SafeTensor>, config: ClipConfig, opts: BuildOptions): ClipWeights {
  const make = <T extends tf.Tensor>(t: tf.Tensor): T => {
    if (!opts.trainable) return t as T;
    const v = tf.variable(t);
    t.dispose();
    return v as unknown as T;
  };
  const raw = (name: string): tf.Tensor => {
    const t = tensors.get(name)!;
    return tf.tensor(t.data, t.shape, 'float32');
  };
  const vec = (name: string) => make<tf.Tensor1D>(raw(name));
  const linear = (name: string, withInputGrad: boolean, bias = true): Linear => {
    const w = raw(`${name}.weight`) as tf.Tensor2D;
    const wt = make<tf.Tensor2D>(tf.transpose(w));
    const keepW = withInputGrad && !opts.trainable;
    if (!keepW) w.dispose();
    return { wt, w: keepW ? w : undefined, b: bias ? vec(`${name}.bias`) : undefined };
  };
  const norm = (name: string): LayerNorm => ({ gamma: vec(`${name}.weight`), beta: vec(`${name}.bias`) });
  const blocks = (prefix: string, t: TowerConfig, inputGrad: boolean): Block[] =>
    Array.from({ length: t.numLayers }, (_, i) => {
      const p = `${prefix}.encoder.layers.${i}`;
      return {
        ln1: norm(`${p}.layer_norm1`),
        q: linear(`${p}.self_attn.q_proj`, inputGrad),
        k: linear(`${p}.self_attn.k_proj`, inputGrad),
        v: linear(`${p}.self_attn.v_proj`, inputGrad),
        out: linear(`${p}.self_attn.out_proj`, inputGrad),
        ln2: norm(`${p}.layer_norm2`),
        fc1: linear(`${p}.mlp.fc1`, inputGrad),
        fc2: linear(`${p}.mlp.fc2`, inputGrad),
      };
    });

  const textGrad = opts.textInputGradients;
  const text: TextWeights = {
    tokenEmbedding: make(raw('text_model.embeddings.token_embedding.weight')),
    positionEmbedding: make(raw('text_model.embeddings.position_embedding.weight')),
    blocks: blocks('text_model', config.text, textGrad),
    finalLn: norm('text_model.final_layer_norm'),
    projection: linear('text_projection', textGrad, false),
  };

  const v = config.vision;
  // Conv weight [width, C, p, p] → rows ordered (row, col, channel) to match patches cut from HWC pixels.
  const conv = raw('vision_model.embeddings.patch_embedding.weight');
  const patchWt = tf.tidy(() => tf.transpose(conv, [2, 3, 1, 0]).reshape([v.patchSize * v.patchSize * v.numChannels, v.hiddenSize]));
  conv.dispose();
  const vision: VisionWeights = {
    classEmbedding: vec('vision_model.embeddings.class_embedding'),
    patchEmbedding: { wt: make(patchWt) },
    positionEmbedding: make(raw('vision_model.embeddings.position_embedding.weight')),
    preLn: norm('vision_model.pre_layrnorm'),
    blocks: blocks('vision_model', v, false),
    postLn: norm('vision_model.post_layernorm'),
    projection: linear('visual_projection', false, false),
  };
  const ls = tensors.get('logit_scale')!;
  return { text, vision, logitScale: make(tf.scalar(ls.data[0])) };
}

/** Every tensor held by the weights (for dispose and for optimisers). */
export function weightTensors(w: ClipWeights): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  const lin = (l: Linear) => {
    for (const t of [l.wt, l.w, l.b]) if (t) out.push(t);
  };
  const ln = (l: LayerNorm) => out.push(l.gamma, l.beta);
  const blocks = (bs: Block[]) =>
    bs.forEach((b) => {
      ln(b.ln1);
      lin(b.q);
      lin(b.k);
      lin(b.v);
      lin(b.out);
      ln(b.ln2);
      lin(b.fc1);
      lin(b.fc2);
    });
  out.push(w.text.tokenEmbedding, w.text.positionEmbedding);
  blocks(w.text.blocks);
  ln(w.text.finalLn);
  lin(w.text.projection);
  out.push(w.vision.classEmbedding, w.vision.positionEmbedding);
  lin(w.vision.patchEmbedding);
  ln(w.vision.preLn);
  blocks(w.vision.blocks);
  ln(w.vision.postLn);
  lin(w.vision.projection);
  out.push(w.logitScale);
  return out;
}

export function disposeWeights(w: ClipWeights): void {
  for (const t of weightTensors(w)) t.dispose();
}

/** Back to HF float32 tensors (for saving a pretrained or benchmark model). */
export async function weightsToHf(w: ClipWeights, config: ClipConfig): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  const put = async (name: string, t: tf.Tensor) => {
    out[name] = { shape: t.shape, data: (await t.data()) as Float32Array };
  };
  const putLinear = async (name: string, l: Linear) => {
    const w2 = tf.transpose(l.wt);
    await put(`${name}.weight`, w2);
    w2.dispose();
    if (l.b) await put(`${name}.bias`, l.b);
  };
  const putNorm = async (name: string, l: LayerNorm) => {
    await put(`${name}.weight`, l.gamma);
    await put(`${name}.bias`, l.beta);
  };
  const putBlocks = async (prefix: string, bs: Block[]) => {
    for (let i = 0; i < bs.length; i++) {
      const p = `${prefix}.encoder.layers.${i}`;
      const b = bs[i];
      await putNorm(`${p}.layer_norm1`, b.ln1);
      await putLinear(`${p}.self_attn.q_proj`, b.q);
      await putLinear(`${p}.self_attn.k_proj`, b.k);
      await putLinear(`${p}.self_attn.v_proj`, b.v);
      await putLinear(`${p}.self_attn.out_proj`, b.out);
      await putNorm(`${p}.layer_norm2`, b.ln2);
      await putLinear(`${p}.mlp.fc1`, b.fc1);
      await putLinear(`${p}.mlp.fc2`, b.fc2);
    }
  };
  await put('text_model.embeddings.token_embedding.weight', w.text.tokenEmbedding);
  await put('text_model.embeddings.position_embedding.weight', w.text.positionEmbedding);
  await putBlocks('text_model', w.text.blocks);
  await putNorm('text_model.final_layer_norm', w.text.finalLn);
  await putLinear('text_projection', w.text.projection);
  const v = config.vision;
  const conv = tf.tidy(() => w.vision.patchEmbedding.wt.reshape([v.patchSize, v.patchSize, v.numChannels, v.hiddenSize]).transpose([3, 2, 0, 1]));
  await put('vision_model.embeddings.patch_embedding.weight', conv);
  conv.dispose();
  await put('vision_model.embeddings.class_embedding', w.vision.classEmbedding);
  await put('vision_model.embeddings.position_embedding.weight', w.vision.positionEmbedding);
  await putNorm('vision_model.pre_layrnorm', w.vision.preLn);
  await putBlocks('vision_model', w.vision.blocks);
  await putNorm('vision_model.post_layernorm', w.vision.postLn);
  await putLinear('visual_projection', w.vision.projection);
  await put('logit_scale', w.logitScale);
  return out;
}

/**
 * Random HF tensors for a config, initialised as transformers' CLIPPreTrainedModel does
 * (normal std 0.02 embeddings, scaled projections, unit LayerNorms, zero biases). Used by the
 * demo's pretraining and the benchmarks' ViT-sized models.
 */
export function randomHfTensors(config: ClipConfig, seed: number): Map<string, SafeTensor> {
  const normal = normalSampler(mulberry32(seed));
  const out = new Map<string, SafeTensor>();
  for (const [name, shape] of hfLayout(config)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    const tower = name.startsWith('vision') || name === 'visual_projection.weight' ? config.vision : config.text;
    const d = tower.hiddenSize;
    const layers = tower.numLayers;
    let std = 0;
    let fill = 0;
    if (name === 'logit_scale') fill = config.logitScaleInit;
    else if (name.includes('layer_norm') || name.includes('layrnorm') || name.includes('layernorm')) fill = name.endsWith('.weight') ? 1 : 0;
    else if (name.endsWith('.bias')) fill = 0;
    else if (name.includes('class_embedding')) std = d ** -0.5;
    else if (name.includes('embedding')) std = 0.02;
    else if (name.includes('self_attn')) std = name.includes('out_proj') ? d ** -0.5 : d ** -0.5 * (2 * layers) ** -0.5;
    else if (name.endsWith('fc1.weight')) std = (2 * d) ** -0.5;
    else if (name.endsWith('fc2.weight')) std = d ** -0.5 * (2 * layers) ** -0.5;
    else if (name.endsWith('projection.weight')) std = d ** -0.5;
    else std = 0.02;
    if (std > 0) for (let i = 0; i < size; i++) data[i] = normal() * std;
    else data.fill(fill);
    out.set(name, { dtype: 'F32', shape, data });
  }
  return out;
}

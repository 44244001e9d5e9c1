// CLIP's two towers as pure functions of (weights, config, inputs), as in transformers'
// modeling_clip: pre-LN transformer blocks, quick_gelu MLPs, causal text attention pooled at
// EOT, vision class-token pooling. Work is kept in 2-D matMuls where possible (fast on wasm).
//
// With frozen weights (inference, LAMM) each block is one custom-gradient op whose backward
// pass is written out by hand and keeps only the activations it needs (about 8 [N, D]-sized
// tensors per block). Autodiff of the same formulas keeps every intermediate and every
// gradient until the whole backward pass ends (~3.5 MB per prompt token at ViT-B size), which
// decides how many prompts fit one pass in the 4 GB wasm heap. Trainable weights (tf.Variable:
// the demo's pretraining) take plain autodiff, which also gives the weight gradients.
import * as tf from '@tensorflow/tfjs';
import type { TextConfig, TowerConfig, VisionConfig } from './config';
import type { TextPassWithBackward } from './types';
import type { Block, LayerNorm, Linear, TextWeights, VisionWeights } from './weights';

/** Additive mask value for future positions; finite so fully masked rows never produce NaN. */
const MASKED = -1e9;

/** y = x·wt + b for x [N, in]. */
export function linear(x: tf.Tensor2D, l: Linear): tf.Tensor2D {
  const y: tf.Tensor2D = tf.matMul(x, l.wt);
  return l.b ? tf.add(y, l.b) : y;
}

/** dy·wᵀ for a frozen linear: a plain product with the stored [out, in] copy where one is kept (plain wasm), else a transposed one. */
function linearInputGrad(dy: tf.Tensor2D, l: Linear): tf.Tensor2D {
  return l.w ? tf.matMul(dy, l.w) : tf.matMul(dy, l.wt, false, true);
}

/** (x − mean)·rstd over the last axis, rstd = 1/sqrt(var + eps): LayerNorm before its affine part. */
function standardize(x: tf.Tensor2D, eps: number): { xhat: tf.Tensor2D; rstd: tf.Tensor2D } {
  const centred = tf.sub(x, tf.mean(x, -1, true));
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), eps)) as tf.Tensor2D;
  return { xhat: tf.mul(centred, rstd), rstd };
}

export function layerNorm(x: tf.Tensor2D, ln: LayerNorm, eps: number): tf.Tensor2D {
  return tf.add(tf.mul(standardize(x, eps).xhat, ln.gamma), ln.beta);
}

/** dL/dx of LayerNorm with frozen gamma, given dL/dy: rstd · (g − mean(g) − xhat · mean(g · xhat)) with g = dy·gamma. */
function layerNormInputGrad(x: tf.Tensor2D, ln: LayerNorm, eps: number, dy: tf.Tensor2D): tf.Tensor2D {
  const { xhat, rstd } = standardize(x, eps);
  const g = tf.mul(dy, ln.gamma);
  return tf.mul(rstd, tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xhat, tf.mean(tf.mul(g, xhat), -1, true))));
}

export function activation(x: tf.Tensor2D, kind: TowerConfig['hiddenAct']): tf.Tensor2D {
  if (kind === 'quick_gelu') return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
}

/** d activation(u) / du. */
function activationGrad(u: tf.Tensor2D, kind: TowerConfig['hiddenAct']): tf.Tensor2D {
  if (kind === 'quick_gelu') {
    const sig = tf.sigmoid(tf.mul(u, 1.702));
    return tf.add(sig, tf.mul(tf.mul(u, 1.702), tf.mul(sig, tf.sub(1, sig))));
  }
  // gelu: Φ(u) + u·φ(u)
  const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.div(u, Math.SQRT2))));
  const pdf = tf.mul(1 / Math.sqrt(2 * Math.PI), tf.exp(tf.mul(-0.5, tf.square(u))));
  return tf.add(cdf, tf.mul(u, pdf));
}

/** Keys and values [P, D] of a prefix shared by every row, one entry per layer (see textPrefix). */
export interface PrefixKV {
  keys: tf.Tensor2D[];
  values: tf.Tensor2D[];
}

/**
 * `batch` copies of x along a new leading axis. A broadcasting add does this ~40× faster than
 * tf.broadcastTo / tf.tile, whose wasm Tile kernel is slow; the gradient (a sum) is the same.
 */
export function repeatAlongBatch<T extends tf.Tensor>(x: T, batch: number): tf.Tensor {
  return tf.add(tf.zeros([batch, ...x.shape]), x.expandDims(0));
}

/** Prepends a shared prefix's keys/values [P, D] to each row's own [B, L, D]. */
function withPrefix(own: tf.Tensor2D, batch: number, len: number, prefix?: tf.Tensor2D): tf.Tensor3D {
  const perRow = own.reshape([batch, len, own.shape[1]]) as tf.Tensor3D;
  if (!prefix) return perRow;
  const shared = repeatAlongBatch(prefix, batch) as tf.Tensor3D;
  return tf.concat([shared, perRow], 1);
}

/** [B·L, D] rows → per-head [B·H, L, D/H], the layout the attention products take; `rows` is the inverse. */
function heads(x: tf.Tensor, batch: number, len: number, t: TowerConfig): tf.Tensor3D {
  const h = t.numHeads;
  return x
    .reshape([batch, len, h, t.hiddenSize / h])
    .transpose([0, 2, 1, 3])
    .reshape([batch * h, len, t.hiddenSize / h]) as tf.Tensor3D;
}
function rows(x: tf.Tensor3D, batch: number, len: number, t: TowerConfig): tf.Tensor2D {
  const h = t.numHeads;
  return x
    .reshape([batch, h, len, t.hiddenSize / h])
    .transpose([0, 2, 1, 3])
    .reshape([batch * len, t.hiddenSize]) as tf.Tensor2D;
}

type Past = { k: tf.Tensor2D; v: tf.Tensor2D };

/** What a block's hand-written backward pass needs from its forward pass. */
interface BlockActivations {
  /** Per head, scaled queries [B·H, L, d], keys and values with the prefix [B·H, P+L, d], attention [B·H, L, P+L]. */
  q: tf.Tensor3D;
  k: tf.Tensor3D;
  v: tf.Tensor3D;
  probs: tf.Tensor3D;
  /** The residual stream after attention [B·L, D], and the MLP's pre-activation [B·L, 4D]. */
  afterAttention: tf.Tensor2D;
  preActivation: tf.Tensor2D;
}

/**
 * One pre-LN transformer block on h [B·L, D]. `mask` [L, P+L] is added to the attention scores
 * (causal text) or absent (vision); `past` holds a shared prefix's keys/values for this layer;
 * `capture` receives this call's own keys/values (to build such a prefix).
 */
function blockForward(
  h: tf.Tensor2D,
  b: Block,
  t: TowerConfig,
  batch: number,
  len: number,
  mask?: tf.Tensor2D,
  past?: Past,
  capture?: (k: tf.Tensor2D, v: tf.Tensor2D) => void,
): { out: tf.Tensor2D; acts: BlockActivations } {
  const headDim = t.hiddenSize / t.numHeads;
  const a = layerNorm(h, b.ln1, t.layerNormEps);
  const ownK = linear(a, b.k);
  const ownV = linear(a, b.v);
  capture?.(ownK, ownV);
  const q = heads(tf.mul(linear(a, b.q), headDim ** -0.5), batch, len, t);
  const prefixLen = past?.k.shape[0] ?? 0;
  const k = heads(withPrefix(ownK, batch, len, past?.k), batch, prefixLen + len, t);
  const v = heads(withPrefix(ownV, batch, len, past?.v), batch, prefixLen + len, t);
  const scores = tf.matMul(q, k, false, true);
  const probs = tf.softmax(mask ? tf.add(scores, mask) : scores) as tf.Tensor3D;
  const afterAttention: tf.Tensor2D = tf.add(h, linear(rows(tf.matMul(probs, v), batch, len, t), b.out));
  const preActivation = linear(layerNorm(afterAttention, b.ln2, t.layerNormEps), b.fc1);
  const out: tf.Tensor2D = tf.add(afterAttention, linear(activation(preActivation, t.hiddenAct), b.fc2));
  return { out, acts: { q, k, v, probs, afterAttention, preActivation } };
}

/**
 * dL/dx of a frozen block given dL/d(out) and what its forward pass kept: the chain rule
 * through blockForward, in reverse. The prefix's keys/values are constants.
 */
function blockBackward(b: Block, t: TowerConfig, batch: number, len: number, x: tf.Tensor2D, acts: BlockActivations, dy: tf.Tensor2D): tf.Tensor2D {
  const eps = t.layerNormEps;
  const scale = (t.hiddenSize / t.numHeads) ** -0.5;
  const prefixLen = acts.k.shape[1] - len;
  const { q, k, v, probs, afterAttention, preActivation } = acts;
  // MLP branch: out = afterAttention + fc2(act(fc1(ln2(afterAttention)))).
  const dPre: tf.Tensor2D = tf.mul(linearInputGrad(dy, b.fc2), activationGrad(preActivation, t.hiddenAct));
  const dAfter: tf.Tensor2D = tf.add(dy, layerNormInputGrad(afterAttention, b.ln2, eps, linearInputGrad(dPre, b.fc1)));
  // Attention branch: afterAttention = x + out(rows(probs·v)).
  const dContext = heads(linearInputGrad(dAfter, b.out), batch, len, t);
  const dProbs = tf.matMul(dContext, v, false, true);
  const dScores = tf.mul(probs, tf.sub(dProbs, tf.sum(tf.mul(dProbs, probs), -1, true)));
  const own = (full: tf.Tensor3D) => rows(tf.slice(full, [0, prefixLen, 0], [-1, len, -1]) as tf.Tensor3D, batch, len, t);
  const dq = rows(tf.matMul(dScores, k), batch, len, t);
  const dk = own(tf.matMul(dScores, q, true, false));
  const dv = own(tf.matMul(probs, dContext, true, false));
  const dA: tf.Tensor2D = tf.addN([linearInputGrad(tf.mul(dq, scale), b.q), linearInputGrad(dk, b.k), linearInputGrad(dv, b.v)]);
  return tf.add(dAfter, layerNormInputGrad(x, b.ln1, eps, dA));
}

const ACTIVATION_NAMES = ['q', 'k', 'v', 'probs', 'afterAttention', 'preActivation'] as const;

/** A block with frozen weights as one op whose gradient w.r.t. its input is blockBackward. */
function frozenBlock(h: tf.Tensor2D, b: Block, t: TowerConfig, batch: number, len: number, mask?: tf.Tensor2D, past?: Past): tf.Tensor2D {
  const f = tf.customGrad((...args) => {
    const [x, save] = args as unknown as [tf.Tensor2D, tf.GradSaveFunc];
    const { out, acts } = blockForward(x, b, t, batch, len, mask, past);
    save([x, ...ACTIVATION_NAMES.map((n) => acts[n])]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x0, ...kept] = saved;
        const acts = Object.fromEntries(ACTIVATION_NAMES.map((n, i) => [n, kept[i]])) as unknown as BlockActivations;
        return blockBackward(b, t, batch, len, x0 as tf.Tensor2D, acts, dy as tf.Tensor2D);
      },
    };
  });
  return f(h) as tf.Tensor2D;
}

/** The block to run: hand-written gradients for frozen weights, autodiff for trainable ones. */
function anyBlock(h: tf.Tensor2D, b: Block, t: TowerConfig, batch: number, len: number, mask?: tf.Tensor2D, past?: Past): tf.Tensor2D {
  return b.fc1.wt instanceof tf.Variable ? blockForward(h, b, t, batch, len, mask, past).out : frozenBlock(h, b, t, batch, len, mask, past);
}

/**
 * Runs one block in its own scope and frees its input, so a forward pass holds one block's
 * intermediates at a time instead of every layer's until the caller's tidy ends (at 1000
 * prompts that is the difference between ~0.3 and >4 GB of wasm heap). Under a gradient tape
 * this is safe: the tape keeps its own references to what the backward pass needs.
 */
function blockByBlock(input: tf.Tensor2D, run: () => tf.Tensor2D): tf.Tensor2D {
  const out = tf.tidy(run);
  input.dispose(); // always an intermediate of the tower's own, never a caller's tensor
  return out;
}

/** [L, offset+L] additive mask: row i (absolute position offset+i) sees columns up to offset+i. */
export function causalMask(len: number, offset = 0): tf.Tensor2D {
  const cols = offset + len;
  const values = new Float32Array(len * cols);
  for (let i = 0; i < len; i++) for (let j = offset + i + 1; j < cols; j++) values[i * cols + j] = MASKED;
  return tf.tensor2d(values, [len, cols]);
}

/** One-hot [B, L] rows picking each row's EOT position: pooling as a masked sum keeps gradients on wasm (no gather gradient there). */
export function eotSelector(eot: number[], len: number): tf.Tensor2D {
  const values = new Float32Array(eot.length * len);
  eot.forEach((pos, row) => {
    if (!Number.isInteger(pos) || pos < 0 || pos >= len) throw new Error(`EOT position ${pos} is outside a sequence of ${len} tokens`);
    values[row * len + pos] = 1;
  });
  return tf.tensor2d(values, [eot.length, len]);
}

export interface TextForwardOptions {
  /** Keys/values of a prefix every row shares (from textPrefix); `embeds` then holds only what follows it. */
  prefix?: PrefixKV & { length: number };
}

/**
 * Text features [B, P] from input token embeddings [B, L, D]; `eot[b]` indexes row b of
 * `embeds`. Under the causal mask a position never sees later ones, so any L that covers every
 * row's EOT gives the same result as 77, and a prefix shared by all rows can be computed once.
 */
export function textForward(w: TextWeights, cfg: TextConfig, embeds: tf.Tensor3D, eot: number[], opts: TextForwardOptions = {}): tf.Tensor2D {
  const [batch, len] = embeds.shape;
  return textTower(w, cfg, embeds, eot, opts.prefix, (h, b, mask, past) => anyBlock(h, b, cfg, batch, len, mask, past)).features;
}

/**
 * The text tower around its blocks: position embeddings, the blocks (each run by `runBlock`,
 * one at a time), EOT pooling, final LayerNorm and projection.
 */
function textTower(
  w: TextWeights,
  cfg: TextConfig,
  embeds: tf.Tensor3D,
  eot: number[],
  prefix: (PrefixKV & { length: number }) | undefined,
  runBlock: (h: tf.Tensor2D, b: Block, mask: tf.Tensor2D, past?: Past) => tf.Tensor2D,
): { features: tf.Tensor2D; pooled: tf.Tensor2D } {
  const [batch, len, width] = embeds.shape;
  const offset = prefix?.length ?? 0;
  if (offset + len > cfg.maxPositions) throw new Error(`text of ${offset + len} tokens exceeds the model's ${cfg.maxPositions} positions`);
  if (eot.length !== batch) throw new Error(`expected ${batch} EOT positions, got ${eot.length}`);
  const positions = tf.slice(w.positionEmbedding, [offset, 0], [len, width]);
  let h = tf.add(embeds, positions).reshape([batch * len, width]) as tf.Tensor2D;
  const mask = causalMask(len, offset);
  w.blocks.forEach((b, i) => {
    const past = prefix ? { k: prefix.keys[i], v: prefix.values[i] } : undefined;
    h = blockByBlock(h, () => runBlock(h, b, mask, past));
  });
  // LayerNorm is per token, so pooling first and normalising the B pooled rows is exact and cheaper.
  const pooled = tf.sum(tf.mul(h.reshape([batch, len, width]), eotSelector(eot, len).expandDims(2)), 1) as tf.Tensor2D;
  return { features: linear(layerNorm(pooled, w.finalLn, cfg.layerNormEps), w.projection), pooled };
}

/** An activation kept for a later backward pass: as a tensor in the wasm heap, or copied out to JS memory. */
type Kept = tf.Tensor | { shape: number[]; data: Float32Array };
const keepActivation = (t: tf.Tensor, inHeap: boolean): Kept => (inHeap ? tf.keep(t.clone()) : { shape: t.shape, data: t.dataSync() as Float32Array });
const useActivation = (k: Kept): tf.Tensor => (k instanceof tf.Tensor ? k : tf.tensor(k.data, k.shape, 'float32'));
const releaseActivation = (k: Kept) => {
  if (k instanceof tf.Tensor) k.dispose();
};

/** Activations above this many bytes are kept in JS memory: the wasm heap (4 GB, weights included) would not hold them. */
export const KEEP_IN_HEAP_MAX_BYTES = 1.5e9;

/**
 * textForward without a gradient tape, keeping each block's activations for a backward pass
 * run later: in the wasm heap when they fit, else in JS memory (outside its 4 GB). A training step that must encode its
 * prompts in chunks (the tape of all of them would not fit the heap) then needs one forward
 * pass instead of two: features of every chunk first, then each chunk's backward from what
 * was kept. Same result as differentiating textForward (both go through blockBackward).
 */
export function textForwardKeeping(
  w: TextWeights,
  cfg: TextConfig,
  embeds: tf.Tensor3D,
  eot: number[],
  opts: Pick<TextForwardOptions, 'prefix'> & { keepInHeapMaxBytes?: number } = {},
): TextPassWithBackward {
  if (w.blocks.some((b) => b.fc1.wt instanceof tf.Variable)) throw new Error('textForwardKeeping needs frozen weights');
  const [batch, len, width] = embeds.shape;
  const offset = opts.prefix?.length ?? 0;
  // Per block: x, q, afterAttention (1 each), k and v (prefix included), preActivation (4 widths), in float32.
  const keptBytes = 4 * w.blocks.length * batch * width * (7 * len + 2 * (offset + len));
  // Only wasm's heap is capped (and a GPU backend cannot copy out synchronously): elsewhere activations stay tensors.
  const inHeap = keptBytes <= (opts.keepInHeapMaxBytes ?? (tf.getBackend() === 'wasm' ? KEEP_IN_HEAP_MAX_BYTES : Infinity));
  const kept: { x: Kept; acts: Record<(typeof ACTIVATION_NAMES)[number], Kept> }[] = [];
  let pooled!: Kept;
  const features = tf.tidy(() => {
    const tower = textTower(w, cfg, embeds, eot, opts.prefix, (h, b, mask, past) => {
      const { out, acts } = blockForward(h, b, cfg, batch, len, mask, past);
      kept.push({
        x: keepActivation(h, inHeap),
        acts: Object.fromEntries(ACTIVATION_NAMES.map((n) => [n, keepActivation(acts[n], inHeap)])) as Record<(typeof ACTIVATION_NAMES)[number], Kept>,
      });
      return out;
    });
    pooled = keepActivation(tower.pooled, inHeap);
    return tower.features;
  });
  let used = false;
  return {
    features,
    backward(dFeatures) {
      if (used) throw new Error('this text pass has already run its backward pass');
      used = true;
      return tf.tidy(() => {
        const dPooled = layerNormInputGrad(useActivation(pooled) as tf.Tensor2D, w.finalLn, cfg.layerNormEps, linearInputGrad(dFeatures, w.projection));
        releaseActivation(pooled);
        let dh = tf.mul(eotSelector(eot, len).expandDims(2), dPooled.expandDims(1)).reshape([batch * len, width]) as tf.Tensor2D;
        for (let i = w.blocks.length - 1; i >= 0; i--) {
          const { x, acts } = kept.pop()!;
          const prev = dh;
          dh = tf.tidy(() =>
            blockBackward(
              w.blocks[i],
              cfg,
              batch,
              len,
              useActivation(x) as tf.Tensor2D,
              Object.fromEntries(ACTIVATION_NAMES.map((n) => [n, useActivation(acts[n])])) as unknown as BlockActivations,
              prev,
            ),
          );
          prev.dispose();
          [x, ...Object.values(acts)].forEach(releaseActivation);
        }
        return dh.reshape([batch, len, width]) as tf.Tensor3D;
      });
    },
  };
}

/**
 * Runs a token prefix [P, D] (e.g. "[SOT] a photo of a") once and keeps each layer's keys and
 * values. Causality makes them independent of whatever follows, so textForward with this
 * prefix equals the full computation on the concatenated sequence.
 */
export function textPrefix(w: TextWeights, cfg: TextConfig, prefixEmbeds: tf.Tensor2D): PrefixKV & { length: number } {
  const [len, width] = prefixEmbeds.shape;
  const keys: tf.Tensor2D[] = [];
  const values: tf.Tensor2D[] = [];
  tf.tidy(() => {
    let h = tf.add(prefixEmbeds, tf.slice(w.positionEmbedding, [0, 0], [len, width])) as tf.Tensor2D;
    const mask = causalMask(len);
    for (const b of w.blocks) {
      h = blockForward(h, b, cfg, 1, len, mask, undefined, (k, v) => {
        keys.push(tf.keep(k));
        values.push(tf.keep(v));
      }).out;
    }
  });
  return { length: len, keys, values };
}

/** Cuts HWC pixels [B, H, W, C] into flattened patches [B·N, p·p·C], (row, col, channel) order. */
export function patchify(pixels: tf.Tensor4D, patch: number): tf.Tensor2D {
  const [batch, height, width, channels] = pixels.shape;
  const gh = height / patch;
  const gw = width / patch;
  return pixels
    .reshape([batch * gh, patch, gw, patch * channels])
    .transpose([0, 2, 1, 3])
    .reshape([batch * gh * gw, patch * patch * channels]) as tf.Tensor2D;
}

/** Image features [B, P] from preprocessed pixels [B, H, W, C] at the model's image size. */
export function visionForward(w: VisionWeights, cfg: VisionConfig, pixels: tf.Tensor4D): tf.Tensor2D {
  const [batch, height, width, channels] = pixels.shape;
  if (height !== cfg.imageSize || width !== cfg.imageSize || channels !== cfg.numChannels) {
    throw new Error(`images must be ${cfg.imageSize}×${cfg.imageSize}×${cfg.numChannels}, got ${height}×${width}×${channels}`);
  }
  const d = cfg.hiddenSize;
  const patches = (cfg.imageSize / cfg.patchSize) ** 2;
  const len = patches + 1;
  // The conv patch embedding is exact as a matMul because stride equals kernel size.
  const patchEmbeds = linear(patchify(pixels, cfg.patchSize), w.patchEmbedding).reshape([batch, patches, d]);
  const cls = repeatAlongBatch(w.classEmbedding.reshape([1, d]), batch);
  const tokens = tf.add(tf.concat([cls, patchEmbeds], 1), w.positionEmbedding);
  let h = layerNorm(tokens.reshape([batch * len, d]) as tf.Tensor2D, w.preLn, cfg.layerNormEps);
  for (const b of w.blocks) h = blockByBlock(h, () => anyBlock(h, b, cfg, batch, len));
  const clsOut = tf.slice(h.reshape([batch, len, d]), [0, 0, 0], [batch, 1, d]).reshape([batch, d]) as tf.Tensor2D;
  return linear(layerNorm(clsOut, w.postLn, cfg.layerNormEps), w.projection);
}

// CLIP's two towers as pure functions of (weights, config, inputs), as in transformers'
// modeling_clip: pre-LN transformer blocks, quick_gelu MLPs, causal text attention pooled at
// EOT, vision class-token pooling. Work is kept in 2-D matMuls where possible (fast on wasm);
// frozen linears (with a stored [out, in] copy) get custom gradients that are plain matMuls too.
import * as tf from '@tensorflow/tfjs';
import type { TextConfig, TowerConfig, VisionConfig } from './config';
import type { Block, LayerNorm, Linear, TextWeights, VisionWeights } from './weights';

/** Additive mask value for future positions; finite so fully masked rows never produce NaN. */
const MASKED = -1e9;

/** y = x·wt + b for x [N, in]. */
export function linear(x: tf.Tensor2D, l: Linear): tf.Tensor2D {
  const frozenW = l.w;
  let y: tf.Tensor2D;
  if (frozenW) {
    // Frozen weights: the only gradient needed is w.r.t. x, dx = dy·w with w stored as [out, in].
    const f = tf.customGrad((...inputs) => {
      const input = inputs[0] as tf.Tensor2D;
      return { value: tf.matMul(input, l.wt), gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, frozenW) };
    });
    y = f(x) as tf.Tensor2D;
  } else {
    y = tf.matMul(x, l.wt);
  }
  return l.b ? tf.add(y, l.b) : y;
}

export function layerNorm(x: tf.Tensor2D, ln: LayerNorm, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(normed, ln.gamma), ln.beta);
}

function activation(x: tf.Tensor2D, kind: TowerConfig['hiddenAct']): tf.Tensor2D {
  if (kind === 'quick_gelu') return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
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
  const rows = own.reshape([batch, len, own.shape[1]]) as tf.Tensor3D;
  if (!prefix) return rows;
  const shared = repeatAlongBatch(prefix, batch) as tf.Tensor3D;
  return tf.concat([shared, rows], 1);
}

/**
 * Multi-head self-attention over h [B·L, D]. `mask` [L, P+L] is added to the scores (causal
 * text) or absent (vision); `past` holds a shared prefix's keys/values for this layer, and
 * `capture` receives this call's own keys/values (to build such a prefix).
 */
function attention(h: tf.Tensor2D, block: Block, t: TowerConfig, batch: number, len: number, mask?: tf.Tensor2D, past?: { k: tf.Tensor2D; v: tf.Tensor2D }, capture?: (k: tf.Tensor2D, v: tf.Tensor2D) => void): tf.Tensor2D {
  const heads = t.numHeads;
  const headDim = t.hiddenSize / heads;
  const split = (x: tf.Tensor3D) => {
    const [b, l] = x.shape;
    return x.reshape([b, l, heads, headDim]).transpose([0, 2, 1, 3]).reshape([b * heads, l, headDim]) as tf.Tensor3D;
  };
  const ownK = linear(h, block.k);
  const ownV = linear(h, block.v);
  capture?.(ownK, ownV);
  const q = split(tf.mul(linear(h, block.q), headDim ** -0.5).reshape([batch, len, t.hiddenSize]) as tf.Tensor3D);
  const k = split(withPrefix(ownK, batch, len, past?.k));
  const v = split(withPrefix(ownV, batch, len, past?.v));
  let scores = tf.matMul(q, k, false, true);
  if (mask) scores = tf.add(scores, mask);
  const context = tf.matMul(tf.softmax(scores), v);
  const merged = context.reshape([batch, heads, len, headDim]).transpose([0, 2, 1, 3]).reshape([batch * len, t.hiddenSize]) as tf.Tensor2D;
  return linear(merged, block.out);
}

/** One pre-LN transformer block on h [B·L, D]. */
function block(h: tf.Tensor2D, b: Block, t: TowerConfig, batch: number, len: number, mask?: tf.Tensor2D, past?: { k: tf.Tensor2D; v: tf.Tensor2D }, capture?: (k: tf.Tensor2D, v: tf.Tensor2D) => void): tf.Tensor2D {
  const afterAttention: tf.Tensor2D = tf.add(h, attention(layerNorm(h, b.ln1, t.layerNormEps), b, t, batch, len, mask, past, capture));
  const mlp = linear(activation(linear(layerNorm(afterAttention, b.ln2, t.layerNormEps), b.fc1), t.hiddenAct), b.fc2);
  return tf.add(afterAttention, mlp);
}

/**
 * The same block, but its activations are not kept for the backward pass: they are recomputed
 * there. Bounds training memory by one block's activations (about 15% slower).
 */
function recomputedBlock(h: tf.Tensor2D, b: Block, t: TowerConfig, batch: number, len: number, mask: tf.Tensor2D, past?: { k: tf.Tensor2D; v: tf.Tensor2D }): tf.Tensor2D {
  const f = tf.customGrad((...inputs) => {
    const [x, save] = inputs as unknown as [tf.Tensor2D, tf.GradSaveFunc];
    // The mask is made in the caller's tidy scope: saving it keeps it alive until the backward pass.
    save([x, mask]);
    return {
      value: block(x, b, t, batch, len, mask, past),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => nestedGrad((y) => block(y as tf.Tensor2D, b, t, batch, len, saved[1] as tf.Tensor2D, past), saved[0], dy),
    };
  });
  return f(h) as tf.Tensor2D;
}

/**
 * dy·∂f/∂x computed during another gradient's backward pass. tfjs (4.22) keeps one active
 * tape and drops it when a top-level gradient ends, which an inner tf.grad would do to the
 * outer one mid-backprop; so the outer tape is set aside and restored around the inner call.
 */
function nestedGrad(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  const state = (tf.engine() as unknown as { state: { activeTape: unknown } }).state;
  const outerTape = state.activeTape;
  try {
    return tf.grad(f)(x, dy);
  } finally {
    state.activeTape = outerTape;
  }
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
  /** Recompute block activations in the backward pass instead of keeping them (bounds memory). */
  recompute?: boolean;
}

/**
 * Text features [B, P] from input token embeddings [B, L, D]; `eot[b]` indexes row b of
 * `embeds`. Under the causal mask a position never sees later ones, so any L that covers every
 * row's EOT gives the same result as 77, and a prefix shared by all rows can be computed once.
 */
export function textForward(w: TextWeights, cfg: TextConfig, embeds: tf.Tensor3D, eot: number[], opts: TextForwardOptions = {}): tf.Tensor2D {
  const [batch, len, width] = embeds.shape;
  const offset = opts.prefix?.length ?? 0;
  if (offset + len > cfg.maxPositions) throw new Error(`text of ${offset + len} tokens exceeds the model's ${cfg.maxPositions} positions`);
  if (eot.length !== batch) throw new Error(`expected ${batch} EOT positions, got ${eot.length}`);
  const positions = tf.slice(w.positionEmbedding, [offset, 0], [len, width]);
  let h = tf.add(embeds, positions).reshape([batch * len, width]) as tf.Tensor2D;
  const mask = causalMask(len, offset);
  w.blocks.forEach((b, i) => {
    const past = opts.prefix ? { k: opts.prefix.keys[i], v: opts.prefix.values[i] } : undefined;
    h = blockByBlock(h, () => (opts.recompute ? recomputedBlock(h, b, cfg, batch, len, mask, past) : block(h, b, cfg, batch, len, mask, past)));
  });
  // LayerNorm is per token, so pooling first and normalising the B pooled rows is exact and cheaper.
  const pooled = tf.sum(tf.mul(h.reshape([batch, len, width]), eotSelector(eot, len).expandDims(2)), 1) as tf.Tensor2D;
  return linear(layerNorm(pooled, w.finalLn, cfg.layerNormEps), w.projection);
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
      h = block(h, b, cfg, 1, len, mask, undefined, (k, v) => {
        keys.push(tf.keep(k));
        values.push(tf.keep(v));
      });
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
  for (const b of w.blocks) h = blockByBlock(h, () => block(h, b, cfg, batch, len));
  const clsOut = tf.slice(h.reshape([batch, len, d]), [0, 0, 0], [batch, 1, d]).reshape([batch, d]) as tf.Tensor2D;
  return linear(layerNorm(clsOut, w.postLn, cfg.layerNormEps), w.projection);
}

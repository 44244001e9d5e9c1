// The CLIP engine's public shape. Other engine modules (data, lamm, export) code against this.
import type * as tf from '@tensorflow/tfjs';
import type { ClipConfig, PreprocessConfig } from './config';
import type { ClipTokenizer } from './tokenizer';

/** A shared prompt prefix's per-layer keys/values; dispose when done. */
export interface TextPrefix {
  readonly length: number;
  readonly keys: tf.Tensor2D[];
  readonly values: tf.Tensor2D[];
  dispose(): void;
}

export interface TextEncodeOptions {
  prefix?: TextPrefix;
}

/** A text pass whose backward pass runs later, once (see encodeTextEmbeddingsKeeping). */
export interface TextPassWithBackward {
  features: tf.Tensor2D;
  backward(dFeatures: tf.Tensor2D): tf.Tensor3D;
}

export interface ClipModel {
  /** The Hugging Face folder it was loaded from. */
  readonly folder: string;
  readonly config: ClipConfig;
  readonly preprocess: PreprocessConfig;
  readonly tokenizer: ClipTokenizer;
  /** SHA-256 (hex) of model.safetensors: identifies the weights in caches and exports. */
  readonly weightsSha256: string;
  /** The stored (log) logit scale; logits use exp(logitScale). */
  readonly logitScale: number;
  /** Frozen token-embedding table [vocab, width]. Owned by the model: do not dispose. */
  readonly tokenEmbedding: tf.Tensor2D;
  /** Projected, unnormalised text features [B, P] for token-id rows (with SOT/EOT; rows may differ in length). */
  encodeText(ids: number[][]): tf.Tensor2D;
  /**
   * Projected text features from input token embeddings [B, L, width] (position embeddings are
   * added inside). `eot[b]` is the position of row b's EOT token within `embeds`. Differentiable
   * w.r.t. `embeds`; the model's weights are frozen. With `prefix`, `embeds` holds only what
   * follows that shared prefix (exact under the causal mask, and most of the work saved).
   */
  encodeTextEmbeddings(embeds: tf.Tensor3D, eot: number[], opts?: TextEncodeOptions): tf.Tensor2D;
  /**
   * encodeTextEmbeddings without a gradient tape, keeping what its own backward pass needs in
   * JS memory: `backward(dL/dfeatures)` later gives dL/dembeds. For steps too large for one taped pass.
   */
  encodeTextEmbeddingsKeeping(embeds: tf.Tensor3D, eot: number[], opts?: Pick<TextEncodeOptions, 'prefix'>): TextPassWithBackward;
  /** Runs token embeddings [P, width] that begin every prompt (e.g. "[SOT] a photo of a") once, keeping each layer's keys/values. */
  textPrefix(prefixEmbeds: tf.Tensor2D): TextPrefix;
  /** Projected, unnormalised image features [B, P] from preprocessed pixels [B, H, W, 3]. */
  encodeImages(pixels: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

// The CLIP engine's public shape. Other engine modules (data, lamm, export) code against this.
import type * as tf from '@tensorflow/tfjs';
import type { ClipConfig, PreprocessConfig } from './config';
import type { ClipTokenizer } from './tokenizer';

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
   * added inside). `eot[b]` is the position of row b's EOT token. Differentiable w.r.t. `embeds`;
   * the model's weights are frozen.
   */
  encodeTextEmbeddings(embeds: tf.Tensor3D, eot: number[]): tf.Tensor2D;
  /** Projected, unnormalised image features [B, P] from preprocessed pixels [B, H, W, 3]. */
  encodeImages(pixels: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

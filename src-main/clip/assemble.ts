// A ClipModel from parsed parts, with no file or Node API: loadClip (folders) and the GPU
// host page (parts sent from the main process, see gpu-host/) both end here.
import * as tf from '@tensorflow/tfjs';
import { textForward, textForwardKeeping, textPrefix, visionForward } from './encoders';
import type { PreprocessConfig, ClipConfig } from './config';
import type { SafeTensor } from './safetensors';
import { ClipTokenizer } from './tokenizer';
import type { ClipModel } from './types';
import { buildWeights, checkCheckpoint, disposeWeights, type ClipWeights } from './weights';

/** A model folder's content, parsed (clip/model.ts readModelFiles): plain data that structured clone can send to another process. */
export interface ModelFiles {
  folder: string;
  config: ClipConfig;
  preprocess: PreprocessConfig;
  tokenizerText: { vocab: string; merges: string; names: { vocab: string; merges: string; folder: string } };
  tensors: Map<string, SafeTensor>;
  weightsSha256: string;
}

/** Checks the parsed files against each other and puts the weights on the current backend. */
export function modelFromFiles(files: ModelFiles, textInputGradients: boolean): ClipModel {
  const { config, tokenizerText: t } = files;
  const tokenizer = ClipTokenizer.fromText(t.vocab, t.merges, t.names);
  if (tokenizer.vocabSize !== config.text.vocabSize) {
    throw new Error(`vocab.json has ${tokenizer.vocabSize} tokens but config.json says vocab_size ${config.text.vocabSize}`);
  }
  checkCheckpoint(files.tensors, config, 'model.safetensors');
  const logitScale = files.tensors.get('logit_scale')!.data[0];
  const weights = buildWeights(files.tensors, config, { textInputGradients });
  return createClipModel({ folder: files.folder, config, preprocess: files.preprocess, tokenizer, weights, weightsSha256: files.weightsSha256, logitScale });
}

export interface Parts extends Pick<ClipModel, 'folder' | 'config' | 'preprocess' | 'tokenizer' | 'weightsSha256' | 'logitScale'> {
  weights: ClipWeights;
}

/** Pads token-id rows to the longest with EOT and finds each row's EOT (its first eos token). */
export function padTokenRows(ids: number[][], eotId: number, maxLen: number): { rows: Int32Array; len: number; eot: number[] } {
  if (ids.length === 0) throw new Error('no texts to encode');
  const len = Math.max(...ids.map((r) => r.length));
  if (len > maxLen) throw new Error(`a text has ${len} tokens; the model takes at most ${maxLen}`);
  const rows = new Int32Array(ids.length * len).fill(eotId);
  const eot = ids.map((row, b) => {
    rows.set(row, b * len);
    const at = row.indexOf(eotId);
    if (at < 0) throw new Error('token row without an end-of-text token');
    return at;
  });
  return { rows, len, eot };
}

export function createClipModel(parts: Parts): ClipModel {
  const { weights, config } = parts;
  let disposed = false;
  const alive = () => {
    if (disposed) throw new Error('the CLIP model was disposed');
  };
  return {
    folder: parts.folder,
    config,
    preprocess: parts.preprocess,
    tokenizer: parts.tokenizer,
    weightsSha256: parts.weightsSha256,
    logitScale: parts.logitScale,
    tokenEmbedding: weights.text.tokenEmbedding,
    encodeText(ids) {
      alive();
      const { rows, len, eot } = padTokenRows(ids, parts.tokenizer.eot, config.text.maxPositions);
      return tf.tidy(() => {
        const embeds = tf.gather(weights.text.tokenEmbedding, tf.tensor2d(rows, [ids.length, len], 'int32')) as unknown as tf.Tensor3D;
        return textForward(weights.text, config.text, embeds, eot);
      });
    },
    encodeTextEmbeddings(embeds, eot, opts = {}) {
      alive();
      return tf.tidy(() => textForward(weights.text, config.text, embeds, eot, opts));
    },
    encodeTextEmbeddingsKeeping(embeds, eot, opts = {}) {
      alive();
      return textForwardKeeping(weights.text, config.text, embeds, eot, opts);
    },
    textPrefix(prefixEmbeds) {
      alive();
      const kv = textPrefix(weights.text, config.text, prefixEmbeds);
      return { ...kv, dispose: () => tf.dispose([...kv.keys, ...kv.values]) };
    },
    encodeImages(pixels) {
      alive();
      return tf.tidy(() => visionForward(weights.vision, config.vision, pixels));
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      disposeWeights(weights);
    },
  };
}

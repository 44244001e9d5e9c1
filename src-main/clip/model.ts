// loadClip(folder): a Hugging Face CLIP folder (config.json, model.safetensors, vocab.json,
// merges.txt, optional preprocessor_config.json) as a frozen ClipModel on the current backend.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { parseClipConfig, parsePreprocessConfig, readJsonFile, type ClipConfig } from './config';
import { textForward, textForwardKeeping, textPrefix, visionForward } from './encoders';
import { parseSafetensors } from './safetensors';
import { ClipTokenizer } from './tokenizer';
import type { ClipModel } from './types';
import { buildWeights, checkCheckpoint, disposeWeights, isIgnoredKey, type ClipWeights } from './weights';

export const WEIGHTS_FILE = 'model.safetensors';

export interface LoadOptions {
  /**
   * Keep [out, in] copies of the text linears so gradients w.r.t. label tokens are plain matMuls.
   * Default: only on the plain wasm backend, whose transposed matMul is ~15× slower than its
   * plain one; native GEMM and libtensorflow do both at the same speed.
   */
  textInputGradients?: boolean;
}

/** Reads and checks a model folder; every problem is a one-line error naming the file. */
export async function loadClip(folder: string, opts: LoadOptions = {}): Promise<ClipModel> {
  const backend = await initBackend();
  const dir = path.resolve(folder);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`model folder not found: ${dir}`);
  const config = parseClipConfig(readJsonFile(path.join(dir, 'config.json'), 'config.json'));
  const ppFile = path.join(dir, 'preprocessor_config.json');
  const preprocess = parsePreprocessConfig(fs.existsSync(ppFile) ? readJsonFile(ppFile, 'preprocessor_config.json') : null, config.vision);
  const tokenizer = ClipTokenizer.fromFolder(dir);
  if (tokenizer.vocabSize !== config.text.vocabSize) {
    throw new Error(`vocab.json has ${tokenizer.vocabSize} tokens but config.json says vocab_size ${config.text.vocabSize}`);
  }

  const weightsFile = path.join(dir, WEIGHTS_FILE);
  if (!fs.existsSync(weightsFile)) {
    const alt = ['pytorch_model.bin', 'tf_model.h5', 'flax_model.msgpack'].find((f) => fs.existsSync(path.join(dir, f)));
    throw new Error(`${WEIGHTS_FILE} is missing in ${dir}${alt ? ` (found ${alt}: convert it to safetensors)` : ''}`);
  }
  const buf = fs.readFileSync(weightsFile);
  const weightsSha256 = crypto.createHash('sha256').update(buf).digest('hex');
  const { tensors } = parseSafetensors(buf, WEIGHTS_FILE, isIgnoredKey);
  checkCheckpoint(tensors, config, WEIGHTS_FILE);
  const logitScale = tensors.get('logit_scale')!.data[0];
  const weights = buildWeights(tensors, config, { textInputGradients: opts.textInputGradients ?? (backend.name === 'wasm' && !backend.accelerator) });
  return createClipModel({ folder: dir, config, preprocess, tokenizer, weights, weightsSha256, logitScale });
}

interface Parts extends Pick<ClipModel, 'folder' | 'config' | 'preprocess' | 'tokenizer' | 'weightsSha256' | 'logitScale'> {
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

export type { ClipConfig };

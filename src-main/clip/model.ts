// loadClip(folder): a Hugging Face CLIP folder (config.json, model.safetensors, vocab.json,
// merges.txt, optional preprocessor_config.json) as a frozen ClipModel on the current backend.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { initBackend } from '../backend';
import { parseClipConfig, parsePreprocessConfig, readJsonFile, type ClipConfig } from './config';
import { modelFromFiles, type ModelFiles } from './assemble';
import { parseSafetensors } from './safetensors';
import type { ClipModel } from './types';
import { isIgnoredKey } from './weights';

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
  return modelFromFiles(readModelFiles(folder), opts.textInputGradients ?? (backend.name === 'wasm' && !backend.accelerator));
}

/** The folder's files, read and parsed but not on any backend: loadClip's input, and what the GPU host page is sent. */
export function readModelFiles(folder: string): ModelFiles {
  const dir = path.resolve(folder);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`model folder not found: ${dir}`);
  const config = parseClipConfig(readJsonFile(path.join(dir, 'config.json'), 'config.json'));
  const ppFile = path.join(dir, 'preprocessor_config.json');
  const preprocess = parsePreprocessConfig(fs.existsSync(ppFile) ? readJsonFile(ppFile, 'preprocessor_config.json') : null, config.vision);
  const vocabFile = path.join(dir, 'vocab.json');
  const mergesFile = path.join(dir, 'merges.txt');
  const tokenizerText = {
    vocab: readText(vocabFile, 'tokenizer file'),
    merges: readText(mergesFile, 'tokenizer file'),
    names: { vocab: vocabFile, merges: mergesFile, folder: dir },
  };

  const weightsFile = path.join(dir, WEIGHTS_FILE);
  if (!fs.existsSync(weightsFile)) {
    const alt = ['pytorch_model.bin', 'tf_model.h5', 'flax_model.msgpack'].find((f) => fs.existsSync(path.join(dir, f)));
    throw new Error(`${WEIGHTS_FILE} is missing in ${dir}${alt ? ` (found ${alt}: convert it to safetensors)` : ''}`);
  }
  const buf = fs.readFileSync(weightsFile);
  const weightsSha256 = crypto.createHash('sha256').update(buf).digest('hex');
  const { tensors } = parseSafetensors(buf, WEIGHTS_FILE, isIgnoredKey);
  return { folder: dir, config, preprocess, tokenizerText, tensors, weightsSha256 };
}

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${what} is missing: ${file}` : `cannot read ${file}: ${(err as Error).message}`);
  }
}

export { createClipModel, padTokenRows, type ModelFiles } from './assemble';

export type { ClipConfig };

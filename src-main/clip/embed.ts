// Texts and preprocessed pixels to features, in batches: no files and no Node, so the GPU host
// page (gpu-host/compute.ts) runs the very code the CLI and the worker run.
import * as tf from '@tensorflow/tfjs';
import { throwIfCancelled, type JobContext } from '../jobs/context';
import type { ClipModel } from './types';

/** Texts per text-encoder batch: large enough to amortise per-op overhead, small enough for the heap at 77 tokens. */
export const TEXT_BATCH = 64;
/** Images per vision-encoder batch. */
export const IMAGE_BATCH = 32;

/** Token ids with SOT/EOT, truncated to the model's context (EOT kept). */
export function tokenizeForModel(model: ClipModel, texts: string[]): number[][] {
  return texts.map((t) => model.tokenizer.encodeWithSpecials(t, model.config.text.maxPositions));
}

/** Projected, unnormalised text features, one row per text. */
export async function embedTexts(model: ClipModel, texts: string[], ctx?: JobContext): Promise<Float32Array[]> {
  const ids = tokenizeForModel(model, texts);
  const out: Float32Array[] = [];
  for (let start = 0; start < ids.length; start += TEXT_BATCH) {
    throwIfCancelled(ctx);
    const features = model.encodeText(ids.slice(start, start + TEXT_BATCH));
    out.push(...splitRows((await features.data()) as Float32Array, features.shape[1]));
    features.dispose();
    ctx?.progress({ stage: 'embed-text', done: Math.min(start + TEXT_BATCH, ids.length), total: ids.length });
  }
  return out;
}

/** Stacks preprocessed HWC images into one [B, H, W, 3] tensor. */
export function pixelBatch(model: ClipModel, images: Float32Array[]): tf.Tensor4D {
  const { cropHeight, cropWidth } = model.preprocess;
  const size = cropHeight * cropWidth * 3;
  const data = new Float32Array(images.length * size);
  images.forEach((img, i) => {
    if (img.length !== size) throw new Error(`preprocessed image has ${img.length} values, expected ${size}`);
    data.set(img, i * size);
  });
  return tf.tensor4d(data, [images.length, cropHeight, cropWidth, 3]);
}

/** Projected, unnormalised features of already preprocessed images. */
export async function embedPixels(model: ClipModel, images: Float32Array[]): Promise<Float32Array[]> {
  const batch = pixelBatch(model, images);
  const features = model.encodeImages(batch);
  batch.dispose();
  const rows = splitRows((await features.data()) as Float32Array, features.shape[1]);
  features.dispose();
  return rows;
}

export function splitRows(flat: Float32Array, width: number): Float32Array[] {
  const rows: Float32Array[] = [];
  for (let i = 0; i < flat.length; i += width) rows.push(flat.slice(i, i + width));
  return rows;
}

/** L2-normalises a row in place and returns it. */
export function normalizeRow(row: Float32Array): Float32Array {
  let norm = 0;
  for (let i = 0; i < row.length; i++) norm += row[i] * row[i];
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < row.length; i++) row[i] /= norm;
  return row;
}

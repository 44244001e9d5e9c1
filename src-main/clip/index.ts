// The CLIP engine's front door: load a folder, embed texts and image files in batches.
import { throwIfCancelled, type JobContext } from '../jobs/context';
import { embedPixels, IMAGE_BATCH } from './embed';
import { preprocessImage } from './preprocess';
import type { ClipModel } from './types';

export { loadClip } from './model';
export type { ClipModel } from './types';
export { embedPixels, embedTexts, IMAGE_BATCH, normalizeRow, pixelBatch, splitRows, TEXT_BATCH, tokenizeForModel } from './embed';

/** Projected, unnormalised image features for image files or encoded buffers. */
export async function embedImages(model: ClipModel, inputs: (string | Buffer)[], ctx?: JobContext): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let start = 0; start < inputs.length; start += IMAGE_BATCH) {
    throwIfCancelled(ctx);
    const chunk = inputs.slice(start, start + IMAGE_BATCH);
    const pixels = await Promise.all(chunk.map((input) => preprocessImage(input, model.preprocess)));
    out.push(...(await embedPixels(model, pixels)));
    ctx?.progress({ stage: 'embed-image', done: start + chunk.length, total: inputs.length });
  }
  return out;
}

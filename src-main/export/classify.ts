// Classifying image files with an exported (or any) classifier: the base model's image
// encoder, then the classifier's normalised text features as a linear head. The export names
// its base model's weights by SHA-256; another model's image features would be meaningless
// against those text features, so a mismatch is refused unless forced.
import { embedImages, normalizeRow } from '../clip';
import type { ClipModel } from '../clip/types';
import type { JobContext } from '../jobs/context';
import type { Classifier } from '../lamm/classifier';
import { classProbabilities } from '../lamm/evaluate';

export interface Classification {
  image: string;
  ranked: { folder: string; promptName: string; probability: number }[];
}

export interface ClassifyOptions {
  /** Classify even when the model's weights differ from the export's base model. */
  force?: boolean;
  /** Classes listed per image, best first (all when omitted). */
  top?: number;
  ctx?: JobContext;
}

export function checkBaseModel(c: Classifier, model: ClipModel, force = false): void {
  if (c.baseModel.sha256 && c.baseModel.sha256 !== model.weightsSha256 && !force) {
    throw new Error(
      `the export was trained on ${c.baseModel.name} (weights ${c.baseModel.sha256.slice(0, 12)}…), but ${model.folder} has weights ${model.weightsSha256.slice(0, 12)}…; pass --force to classify anyway`,
    );
  }
  if (model.config.projectionDim !== c.projectionDim) {
    throw new Error(`the export's text features are ${c.projectionDim}-d, the model's image features ${model.config.projectionDim}-d`);
  }
}

export async function classifyImages(c: Classifier, model: ClipModel, images: string[], opts: ClassifyOptions = {}): Promise<Classification[]> {
  checkBaseModel(c, model, opts.force);
  if (images.length === 0) return [];
  const features = (await embedImages(model, images, opts.ctx)).map(normalizeRow);
  const flat = new Float32Array(features.length * c.projectionDim);
  features.forEach((f, i) => flat.set(f, i * c.projectionDim));
  const probs = await classProbabilities(flat, c.textFeatures, c.projectionDim, c.logitScale);
  const classes = c.classes.length;
  const top = Math.min(opts.top ?? classes, classes);
  return images.map((image, i) => {
    const ranked = c.classes
      .map((cls, k) => ({ folder: cls.folder, promptName: cls.promptName, probability: probs[i * classes + k] }))
      .sort((a, b) => b.probability - a.probability)
      .slice(0, top);
    return { image, ranked };
  });
}

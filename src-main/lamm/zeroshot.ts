// Zero-shot CLIP on a project's images: prompt each class name with one template (or an
// ensemble: the mean of each template's normalised text features, renormalised, as in CLIP's
// prompt-ensembling notebook), compare with the cached view-0 image features by scaled
// cosine, and store the outcome as a run (metrics, per-image predictions).
import { currentBackend, describeBackend } from '../backend';
import { embedTexts, type ClipModel } from '../clip';
import { CancelledError, type JobContext } from '../jobs/context';
import { featuresFor, loadFeatures, registerClipModel, type FeatureSummary } from '../data/features';
import type { ProjectStore, RunMetrics, SplitName } from '../data/store';
import { checkTemplate, DEFAULT_TEMPLATE } from './config';
import { accuracyOf, argmax, classProbabilities, normaliseRows } from './evaluate';
import { fillTemplate } from './prompts';

/** The seven templates CLIP's authors picked for ImageNet ensembling (the "selected" subset). */
export const ENSEMBLE_TEMPLATES: readonly string[] = [
  'itap of a {}.',
  'a bad photo of the {}.',
  'a origami {}.',
  'a photo of the large {}.',
  'a {} in a video game.',
  'art of the {}.',
  'a photo of the small {}.',
];

export type EvalSplit = SplitName | 'all';

export interface ZeroShotOptions {
  datasetId: number;
  /** One template, or several to ensemble (default: DEFAULT_TEMPLATE). */
  templates?: readonly string[];
  /** Which images to evaluate (default 'all': zero-shot learns nothing, so every image is unseen). */
  split?: EvalSplit;
}

export interface ZeroShotResult {
  runId: number;
  accuracy: number;
  /** Accuracy per class folder (classes without evaluated images are absent). */
  perClass: Record<string, number>;
  /** Images evaluated. */
  images: number;
  templates: string[];
  /** Images left out because they would not decode. */
  failed: FeatureSummary['failed'];
}

/** Normalised zero-shot classifier [C, P] (flat) for prompt names under one or more templates. */
export async function zeroShotTextFeatures(
  model: ClipModel,
  promptNames: readonly string[],
  templates: readonly string[],
  ctx?: JobContext,
): Promise<Float32Array> {
  if (templates.length === 0) throw new Error('give at least one template');
  for (const t of templates) checkTemplate(t);
  const width = model.config.projectionDim;
  const C = promptNames.length;
  // Every template's prompts in one pass through the text encoder.
  const rows = await embedTexts(
    model,
    templates.flatMap((t) => promptNames.map((name) => fillTemplate(t, name))),
    ctx,
  );
  const sum = new Float32Array(C * width);
  rows.forEach((row, r) => {
    normaliseRows(row, width);
    const c = r % C;
    for (let k = 0; k < width; k++) sum[c * width + k] += row[k];
  });
  return normaliseRows(sum, width);
}

/** Evaluates zero-shot CLIP on a dataset and records it as a 'zeroshot' run. */
export async function runZeroShot(store: ProjectStore, model: ClipModel, opts: ZeroShotOptions, ctx?: JobContext): Promise<ZeroShotResult> {
  const templates = [...(opts.templates ?? [DEFAULT_TEMPLATE])];
  const split = opts.split ?? 'all';
  const classes = store.listClasses(opts.datasetId);
  if (classes.length === 0) throw new Error('the dataset has no classes with images');
  const images = store.listImages(opts.datasetId, split === 'all' ? {} : { split });
  if (images.length === 0) throw new Error(`no images to evaluate${split === 'all' ? '' : ` in the ${split} split`}`);

  const backend = currentBackend();
  const modelRecord = registerClipModel(store, model);
  const runId = store.createRun({
    datasetId: opts.datasetId,
    modelId: modelRecord.id,
    kind: 'zeroshot',
    config: { templates, split },
    backend: backend ? describeBackend(backend) : null,
    classes: classes.map((c) => ({ classId: c.id, promptName: c.promptName })),
  });
  try {
    const started = Date.now();
    const { summary: features, present: kept } = await featuresFor(store, model, images, ctx);
    const featuresDone = Date.now();

    const width = model.config.projectionDim;
    const text = await zeroShotTextFeatures(
      model,
      classes.map((c) => c.promptName),
      templates,
      ctx,
    );
    if (kept.length === 0) throw new Error('none of the images could be decoded');
    const imageFeatures = loadFeatures(
      store,
      features.modelId,
      kept.map((i) => i.id),
      0,
      { normalize: true },
    );
    const probs = await classProbabilities(imageFeatures, text, width, model.logitScale);

    const classIndex = new Map(classes.map((c, k) => [c.id, k]));
    const C = classes.length;
    const predicted: number[] = [];
    const labels: number[] = [];
    const rows = kept.map((image, i) => {
      const p = probs.subarray(i * C, (i + 1) * C);
      const best = argmax(p);
      predicted.push(best);
      labels.push(classIndex.get(image.classId)!);
      return { imageId: image.id, labelClassId: image.classId, predictedClassId: classes[best].id, score: p[best], probs: p.slice() };
    });
    store.savePredictions(runId, rows);

    const acc = accuracyOf(predicted, labels);
    const perClass: Record<string, number> = {};
    for (const [k, value] of acc.perClass) perClass[classes[k].folder] = value;
    const metrics: RunMetrics = { accuracy: acc.accuracy, perClass, images: kept.length };
    store.finishRun(runId, metrics, { featuresSeconds: (featuresDone - started) / 1000, totalSeconds: (Date.now() - started) / 1000 });
    return { runId, accuracy: acc.accuracy, perClass, images: kept.length, templates, failed: features.failed };
  } catch (err) {
    store.failRun(runId, err, { cancelled: err instanceof CancelledError || ctx?.signal.aborted });
    throw err;
  }
}

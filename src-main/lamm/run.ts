// One training run against a project (DESIGN §3, §4): K shots per class, their cached view
// features (or online augmentation), the trainer, evaluation of the last epoch on the test
// split against zero-shot, and the run record: config, backend, timings, per-epoch log,
// learned embeddings, the classifier and per-image predictions. A run that fails or is
// cancelled is marked so with its reason; its partial log is kept and nothing else changes.
import * as tf from '@tensorflow/tfjs';
import { currentBackend, describeBackend } from '../backend';
import { embedPixels, normalizeRow } from '../clip';
import { augmentedView } from '../clip/augment';
import { decodeImage, preshrinkEdge, type RgbImage } from '../clip/preprocess';
import { deriveSeed } from '../clip/random';
import type { ClipModel } from '../clip/types';
import { computeFeatures, loadFeatures, registerClipModel } from '../data/features';
import { selectShots } from '../data/splits';
import type { ClassInfo, ImageInfo, ProjectStore, RunMetrics } from '../data/store';
import { CancelledError, throwIfCancelled, type JobContext } from '../jobs/context';
import type { RunSetupRecord } from './classifier';
import { resolveTrainConfig, type TrainConfig, type TrainConfigInput } from './config';
import { accuracyOf, predict, type Prediction } from './evaluate';
import { setupLabelTokens, type LabelTokenSetup } from './prompts';
import { zeroShotTextFeatures } from './zeroshot';
import { saveRunTensor } from '../data/run-tensors';
import type { Sample } from './sampling';
import { trainPrompts, type EpochRecord, type StepEvent, type TrainedPrompts, type TrainHooks, type TrainingData } from './trainer';

export interface TrainRequest {
  /** Dataset in the project; the only (or first) one when omitted. */
  datasetId?: number;
  /** Class folders to train on (a class-incremental task); all classes when omitted. */
  classes?: string[];
  config?: TrainConfigInput;
}

export interface AccuracyReport {
  accuracy: number;
  /** Per class folder. */
  perClass: Record<string, number>;
}

export interface TrainOutcome {
  runId: number;
  backend: string;
  zeroShot: AccuracyReport;
  trained: AccuracyReport;
  timings: RunTimings;
}

export interface RunTimings {
  [name: string]: number;
  featuresSeconds: number;
  trainSeconds: number;
  secondsPerEpoch: number;
  secondsPerStep: number;
  evaluateSeconds: number;
  totalSeconds: number;
}

export interface RunHooks {
  ctx?: JobContext;
  onRunCreated?(runId: number): void;
  onStep?(runId: number, step: StepEvent): void;
  /** Every epoch as logged; the last one again with its test accuracy once evaluated. */
  onEpoch?(runId: number, record: EpochRecord): void;
  log?(message: string): void;
  /** Where the image encoder and the training loop run when not on this thread (Electron's GPU host page). */
  compute?: RunCompute;
}

export interface RunCompute {
  /** The backend line for the run record. */
  backend: string;
  embedPixels(pixels: Float32Array[]): Promise<Float32Array[]>;
  trainPrompts(setup: LabelTokenSetup, config: TrainConfig, data: TrainingData, hooks: TrainHooks): Promise<TrainedPrompts>;
}

/** What the run's config_json holds: the resolved training config and how the task was set up. */
export interface RunConfigRecord extends TrainConfig {
  classes: string[];
  datasetId: number;
  setup: RunSetupRecord;
}

export async function trainRun(store: ProjectStore, model: ClipModel, request: TrainRequest, hooks: RunHooks = {}): Promise<TrainOutcome> {
  const started = performance.now();
  const config = resolveTrainConfig(request.config);
  const datasetId = request.datasetId ?? defaultDataset(store);
  const classes = chooseClasses(store.listClasses(datasetId), request.classes);
  const setup = setupLabelTokens(
    model.tokenizer,
    classes.map((c) => c.promptName),
    config.template,
    model.config.text.maxPositions,
  );
  const shots = selectShots(store, datasetId, { shots: config.shots, seed: config.seed, classes });
  const classIndex = new Map(classes.map((c, i) => [c.id, i]));
  const allTest = store.listImages(datasetId, { split: 'test' }).filter((img) => classIndex.has(img.classId));
  if (allTest.length === 0) throw new Error('the test split of these classes is empty; nothing to evaluate on');
  const modelRecord = registerClipModel(store, model);
  const backend = hooks.compute?.backend ?? backendName();

  const runId = store.createRun({
    datasetId,
    modelId: modelRecord.id,
    kind: config.method,
    config: {
      ...config,
      classes: classes.map((c) => c.folder),
      datasetId,
      setup: { template: config.template, labelStart: setup.labelStart, minLen: setup.minLen, logitScale: model.logitScale },
    } satisfies RunConfigRecord,
    backend,
    classes: classes.map((c) => ({ classId: c.id, promptName: c.promptName })),
  });
  hooks.onRunCreated?.(runId);
  hooks.log?.(`run ${runId}: ${config.method}, ${classes.length} classes × ${config.shots} shots, ${config.epochs} epochs on ${backend}`);

  try {
    const featuresStarted = performance.now();
    const shotImages = shots.classes.flatMap((c) => c.imageIds.map((id) => ({ id, label: classIndex.get(c.classId)! })));
    const unreadable = new Set<number>();
    const noteFailures = (failed: { imageId: number; path: string; reason: string }[]) =>
      failed.forEach((f) => {
        unreadable.add(f.imageId);
        hooks.log?.(`skipped ${f.path}: ${f.reason}`);
      });
    noteFailures(
      (await computeFeatures(store, model, { imageIds: allTest.map((img) => img.id), views: 1, embed: hooks.compute?.embedPixels }, hooks.ctx)).failed,
    );
    if (!config.onlineAugment)
      noteFailures(
        (await computeFeatures(store, model, { imageIds: shotImages.map((t) => t.id), views: config.views, embed: hooks.compute?.embedPixels }, hooks.ctx))
          .failed,
      );
    const test = allTest.filter((img) => !unreadable.has(img.id));
    const trainImages = shotImages.filter((t) => !unreadable.has(t.id));
    if (test.length === 0 || trainImages.length === 0) throw new Error(`no readable ${test.length === 0 ? 'test' : 'training'} images left`);
    const testMatrix = loadFeatures(
      store,
      modelRecord.id,
      test.map((img) => img.id),
      0,
      { normalize: true },
    );
    const data = config.onlineAugment
      ? onlineTrainingData(store, model, trainImages, config.seed, hooks.compute?.embedPixels)
      : cachedTrainingData(store, modelRecord.id, trainImages, config.views, model.config.projectionDim);
    const featuresSeconds = (performance.now() - featuresStarted) / 1000;
    throwIfCancelled(hooks.ctx);

    const trainStarted = performance.now();
    const trainHooks: TrainHooks = {
      ctx: hooks.ctx,
      onStep: (s) => hooks.onStep?.(runId, s),
      onEpoch: (e) => {
        const record: EpochRecord = { ...e, testAccuracy: null };
        store.appendRunLog(runId, record);
        hooks.onEpoch?.(runId, record);
      },
    };
    const trained = await (hooks.compute ? hooks.compute.trainPrompts(setup, config, data, trainHooks) : trainPrompts(model, setup, config, data, trainHooks));
    const trainSeconds = (performance.now() - trainStarted) / 1000;
    throwIfCancelled(hooks.ctx);

    const evaluateStarted = performance.now();
    const width = model.config.projectionDim;
    const testLabels = test.map((img) => classIndex.get(img.classId)!);
    const trainedPredictions = await predict(testMatrix, trained.textFeatures, width, model.logitScale);
    // The baseline through the zero-shot module's own path (tokenised prompts, no splicing): the same classifier as t0.
    const zeroShotText = await zeroShotTextFeatures(model, setup.promptNames, [config.template], hooks.ctx);
    const zeroShotPredictions = await predict(testMatrix, zeroShotText, width, model.logitScale);
    const trainedReport = report(trainedPredictions, testLabels, classes);
    const zeroShotReport = report(zeroShotPredictions, testLabels, classes);
    const evaluateSeconds = (performance.now() - evaluateStarted) / 1000;

    const last = trained.history[trained.history.length - 1];
    const lastRecord: EpochRecord = { ...last, testAccuracy: trainedReport.accuracy };
    const timings: RunTimings = {
      featuresSeconds,
      trainSeconds,
      secondsPerEpoch: trainSeconds / config.epochs,
      secondsPerStep: trained.secondsPerStep,
      evaluateSeconds,
      totalSeconds: (performance.now() - started) / 1000,
    };
    const metrics: RunMetrics = { ...trainedReport, zeroShot: zeroShotReport, trainImages: trainImages.length, testImages: test.length };
    const embeddingSize = setup.minLen * model.tokenEmbedding.shape[1];
    // Everything a finished run owns lands in one transaction: a failure here leaves none of it.
    store.write(() => {
      store.appendRunLog(runId, lastRecord);
      store.saveLabelEmbeddings(
        runId,
        classes.map((c, i) => ({
          classId: c.id,
          tokens: setup.minLen,
          dim: model.tokenEmbedding.shape[1],
          data: trained.labelEmbeddings.slice(i * embeddingSize, (i + 1) * embeddingSize),
          init: trained.initialLabelEmbeddings.slice(i * embeddingSize, (i + 1) * embeddingSize),
        })),
      );
      saveRunTensor(store, runId, 'text_features', { shape: [classes.length, width], data: trained.textFeatures });
      saveRunTensor(store, runId, 'zero_shot_features', { shape: [classes.length, width], data: trained.zeroShotFeatures });
      if (trained.context)
        saveRunTensor(store, runId, 'context', {
          shape: [trained.context.length / model.tokenEmbedding.shape[1], model.tokenEmbedding.shape[1]],
          data: trained.context,
        });
      store.savePredictions(
        runId,
        test.map((img, i) => ({
          imageId: img.id,
          labelClassId: img.classId,
          predictedClassId: classes[trainedPredictions[i].predicted].id,
          score: trainedPredictions[i].probability,
        })),
      );
      store.finishRun(runId, metrics, timings);
    });
    hooks.onEpoch?.(runId, lastRecord);
    return { runId, backend, zeroShot: zeroShotReport, trained: trainedReport, timings };
  } catch (err) {
    const cancelled = err instanceof CancelledError || hooks.ctx?.signal.aborted === true;
    store.failRun(runId, err, { cancelled });
    throw err;
  }
}

function defaultDataset(store: ProjectStore): number {
  const datasets = store.listDatasets();
  if (datasets.length === 0) throw new Error('the project has no dataset; import an image folder first');
  return datasets[0].id;
}

function chooseClasses(all: ClassInfo[], folders: string[] | undefined): ClassInfo[] {
  if (!folders) return all;
  const byFolder = new Map(all.map((c) => [c.folder, c]));
  const unknown = folders.filter((f) => !byFolder.has(f));
  if (unknown.length) throw new Error(`no class folder named ${unknown.map((f) => `"${f}"`).join(', ')} in this dataset`);
  if (new Set(folders).size !== folders.length) throw new Error('a class is listed twice');
  return folders.map((f) => byFolder.get(f)!);
}

function backendName(): string {
  const info = currentBackend();
  return info ? describeBackend(info) : tf.getBackend();
}

function report(predictions: Prediction[], labels: number[], classes: ClassInfo[]) {
  const acc = accuracyOf(
    predictions.map((p) => p.predicted),
    labels,
  );
  return { accuracy: acc.accuracy, perClass: Object.fromEntries([...acc.perClass].map(([c, a]) => [classes[c].folder, a])) };
}

function stackRows(rows: Float32Array[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(r, i * width));
  return out;
}

/** Batches drawn from the cached views, each view loaded once as a normalised [N, P] block. */
function cachedTrainingData(store: ProjectStore, modelId: number, images: { id: number; label: number }[], views: number, width: number): TrainingData {
  const ids = images.map((t) => t.id);
  const byView = Array.from({ length: views }, (_, v) => loadFeatures(store, modelId, ids, v, { normalize: true }));
  return {
    labels: images.map((t) => t.label),
    batchFeatures: (batch: Sample[]) =>
      tf.tensor2d(
        stackRows(
          batch.map((s) => byView[s.view].subarray(s.image * width, (s.image + 1) * width)),
          width,
        ),
        [batch.length, width],
      ),
  };
}

/**
 * Online augmentation: each step decodes (once, then from memory) and freshly augments its
 * images, then runs the image encoder. Every epoch gives each image a new seeded crop.
 */
function onlineTrainingData(
  store: ProjectStore,
  model: ClipModel,
  images: { id: number; label: number }[],
  seed: number,
  embed?: RunCompute['embedPixels'],
): TrainingData {
  const decoded = new Map<number, RgbImage>();
  const draws = new Map<number, number>();
  const infos = new Map<number, ImageInfo>();
  return {
    labels: images.map((t) => t.label),
    async batchFeatures(batch: Sample[]) {
      const pixels = await Promise.all(
        batch.map(async (s) => {
          const id = images[s.image].id;
          let img = decoded.get(id);
          if (!img) {
            const info = infos.get(id) ?? store.getImage(id);
            infos.set(id, info);
            img = await decodeImage(store.imageFile(info), { shortEdge: preshrinkEdge(model.preprocess) });
            decoded.set(id, img);
          }
          const draw = (draws.get(id) ?? 0) + 1;
          draws.set(id, draw);
          return augmentedView(img, model.preprocess, deriveSeed(seed, 'online', id), draw);
        }),
      );
      const features = (await (embed ? embed(pixels) : embedPixels(model, pixels))).map(normalizeRow);
      return tf.tensor2d(stackRows(features, model.config.projectionDim), [batch.length, model.config.projectionDim]);
    },
  };
}

// Class-incremental use (DESIGN §3): LAMM trains each class's label tokens through its own
// prompt only, so runs on disjoint classes combine into one classifier by stacking their
// label embeddings and text features, each class's rows copied untouched. The merged run is
// evaluated on the union of the classes' test images from the cached features (no model needed).
import { loadFeatures } from '../data/features';
import type { ProjectStore, RunMetrics } from '../data/store';
import { loadRunClassifier, type RunClassifier, type RunSetupRecord } from './classifier';
import { accuracyOf, predict } from './evaluate';
import { METHOD_SPECS, TRAIN_METHODS } from './methods';
import { saveRunTensor } from '../data/run-tensors';

export interface MergeOutcome {
  runId: number;
  accuracy: number;
  perClass: Record<string, number>;
}

export async function mergeRuns(store: ProjectStore, runIds: number[]): Promise<MergeOutcome> {
  if (runIds.length < 2) throw new Error('give at least two runs to merge');
  const parts = runIds.map((id) => loadRunClassifier(store, id));
  const runs = runIds.map((id) => store.getRun(id));
  const first = parts[0];
  parts.forEach((p, i) => {
    if (!METHOD_SPECS[p.method]?.mergeable)
      throw new Error(
        `run ${p.runId} is ${p.method}: only ${TRAIN_METHODS.filter((m) => METHOD_SPECS[m].mergeable)
          .map((m) => METHOD_SPECS[m].title)
          .join(', ')} runs merge (a trained context is shared by all its classes)`,
      );
    if (runs[i].modelId !== runs[0].modelId) throw new Error(`run ${p.runId} used another model than run ${first.runId}`);
    if (runs[i].datasetId !== runs[0].datasetId) throw new Error(`run ${p.runId} is on another dataset than run ${first.runId}`);
    // Each task has its own min_len; a class keeps its own token count, so only the template must agree.
    if (p.template !== first.template || p.labelStart !== first.labelStart) {
      throw new Error(`run ${p.runId} used the template "${p.template}", run ${first.runId} "${first.template}": merged classes must share one template`);
    }
  });
  const classIds = parts.flatMap((p) => p.classIds);
  const seen = new Set<number>();
  for (const [i, id] of classIds.entries()) {
    if (seen.has(id)) throw new Error(`class "${parts.flatMap((p) => p.classes)[i].folder}" is in more than one run; merged runs must have disjoint classes`);
    seen.add(id);
  }

  const setup: RunSetupRecord = {
    template: first.template,
    labelStart: first.labelStart,
    minLen: Math.min(...parts.map((p) => p.minLen)),
    logitScale: first.logitScale,
  };
  const concat = (pick: (p: RunClassifier) => Float32Array) => {
    const out = new Float32Array(parts.reduce((n, p) => n + pick(p).length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(pick(p), offset);
      offset += pick(p).length;
    }
    return out;
  };
  const textFeatures = concat((p) => p.textFeatures);
  const classIndex = new Map(classIds.map((id, k) => [id, k]));
  const datasetId = runs[0].datasetId;
  const test = datasetId === null ? [] : store.listImages(datasetId, { split: 'test' }).filter((img) => classIndex.has(img.classId));
  const testIds = test.map((img) => img.id);
  const features = loadFeatures(store, runs[0].modelId!, testIds, 0, { normalize: true });
  const predictions = await predict(features, textFeatures, first.projectionDim, first.logitScale);
  const acc = accuracyOf(
    predictions.map((p) => p.predicted),
    test.map((img) => classIndex.get(img.classId)!),
  );
  const folders = parts.flatMap((p) => p.classes.map((c) => c.folder));
  const perClass = Object.fromEntries([...acc.perClass].map(([k, a]) => [folders[k], a]));
  const metrics: RunMetrics = { accuracy: acc.accuracy, perClass, testImages: test.length, mergedFrom: runIds };

  return store.write(() => {
    const runId = store.createRun({
      datasetId,
      modelId: runs[0].modelId,
      kind: 'lamm',
      config: { method: 'lamm', mergedFrom: runIds, classes: folders, datasetId, setup },
      backend: null,
      classes: parts.flatMap((p) => p.classIds.map((classId, k) => ({ classId, promptName: p.classes[k].promptName }))),
    });
    for (const p of runIds) store.saveLabelEmbeddings(runId, store.getLabelEmbeddings(p));
    saveRunTensor(store, runId, 'text_features', { shape: [classIds.length, first.projectionDim], data: textFeatures });
    store.savePredictions(
      runId,
      test.map((img, i) => ({
        imageId: img.id,
        labelClassId: img.classId,
        predictedClassId: classIds[predictions[i].predicted],
        score: predictions[i].probability,
      })),
    );
    store.finishRun(runId, metrics);
    return { runId, accuracy: acc.accuracy, perClass };
  });
}

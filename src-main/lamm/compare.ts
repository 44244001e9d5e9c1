// Zero-shot vs trained over the test images both runs predicted: accuracy per class, the
// trained run's confusion matrix, and the images whose correctness flipped. Counting only;
// the predictions come from the runs' stored rows.
import type { ProjectStore } from '../data/store';

export interface ImageFlip {
  imageId: number;
  trueClassId: number;
  baseClassId: number;
  trainedClassId: number;
  /** true: wrong → right; false: right → wrong. */
  fixed: boolean;
}

export interface Comparison {
  baseRunId: number;
  runId: number;
  accuracy: { base: number; trained: number };
  perClass: { classId: number; folder: string; base: number; trained: number; delta: number }[];
  /** Rows: true class, columns: predicted class, for the trained run; class order as in `labels`. */
  confusion: { labels: string[]; matrix: number[][] };
  flips: ImageFlip[];
}

export interface PredictionLike {
  imageId: number;
  labelClassId: number;
  predictedClassId: number;
}

export function compareRunPredictions(
  base: { runId: number; predictions: PredictionLike[] },
  trained: { runId: number; predictions: PredictionLike[] },
  classes: { id: number; folder: string }[],
): Comparison {
  const baseByImage = new Map(base.predictions.map((p) => [p.imageId, p]));
  const shared = trained.predictions.filter((p) => baseByImage.has(p.imageId));
  if (shared.length === 0) throw new Error(`runs ${base.runId} and ${trained.runId} have no test image in common`);
  const index = new Map(classes.map((c, i) => [c.id, i]));
  const n = classes.length;
  const matrix = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const perClass = classes.map((c) => ({ classId: c.id, folder: c.folder, total: 0, base: 0, trained: 0 }));
  const flips: Comparison['flips'] = [];
  let baseRight = 0;
  let trainedRight = 0;
  for (const t of shared) {
    const b = baseByImage.get(t.imageId)!;
    const row = index.get(t.labelClassId);
    const col = index.get(t.predictedClassId);
    if (row === undefined) continue; // a class the comparison does not cover
    const bOk = b.predictedClassId === t.labelClassId;
    const tOk = t.predictedClassId === t.labelClassId;
    perClass[row].total++;
    if (bOk) {
      perClass[row].base++;
      baseRight++;
    }
    if (tOk) {
      perClass[row].trained++;
      trainedRight++;
    }
    if (col !== undefined) matrix[row][col]++;
    if (bOk !== tOk)
      flips.push({ imageId: t.imageId, trueClassId: t.labelClassId, baseClassId: b.predictedClassId, trainedClassId: t.predictedClassId, fixed: tOk });
  }
  const total = perClass.reduce((s, c) => s + c.total, 0) || 1;
  return {
    baseRunId: base.runId,
    runId: trained.runId,
    accuracy: { base: baseRight / total, trained: trainedRight / total },
    perClass: perClass
      .filter((c) => c.total > 0)
      .map((c) => ({ classId: c.classId, folder: c.folder, base: c.base / c.total, trained: c.trained / c.total, delta: (c.trained - c.base) / c.total })),
    confusion: { labels: classes.map((c) => c.folder), matrix },
    flips,
  };
}

/** A trained run against a zero-shot baseline: `baseRunId`, else the newest finished zero-shot run with the same model. */
export function compareWithBaseline(store: ProjectStore, runId: number, baseRunId?: number): Comparison {
  const run = store.getRun(runId);
  if (run.kind === 'zeroshot') throw new Error(`run ${runId} is a zero-shot run; choose a trained run to compare`);
  const base = baseRunId ?? store.latestFinishedRun('zeroshot', run.modelId, run.datasetId)?.id;
  if (base === undefined) throw new Error('no zero-shot run with this model yet: run zero-shot on the Train page first');
  const classes = store.getRunClasses(runId).map((c) => ({ id: c.classId, folder: store.getClass(c.classId).folder }));
  return compareRunPredictions({ runId: base, predictions: store.getPredictions(base) }, { runId, predictions: store.getPredictions(runId) }, classes);
}

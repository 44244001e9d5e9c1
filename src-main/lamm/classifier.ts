// A finished run as a classifier: its classes in logit order, the learned label embeddings, and
// the normalised text features that form the linear head. Export writes one, import reads one
// back, and classification needs nothing else besides the base model's image encoder.
import type { ProjectStore, RunMetrics } from '../data/store';
import type { TrainMethod } from './config';
import { getRunTensor } from '../data/run-tensors';

export interface ClassifierClass {
  /** The class folder: the stable key in CLI output and exports. */
  folder: string;
  promptName: string;
}

/** What a training run records in its config besides the TrainConfig (see lamm/run.ts). */
export interface RunSetupRecord {
  template: string;
  labelStart: number;
  minLen: number;
  logitScale: number;
}

export interface Classifier extends RunSetupRecord {
  method: TrainMethod;
  classes: ClassifierClass[];
  /** Token-embedding width D and projection width P. */
  width: number;
  projectionDim: number;
  /**
   * Trained tokens of each class: all `minLen` for one run; a merge of class-incremental runs
   * may mix lengths, each class keeping its own.
   */
  tokensPerClass: number[];
  /** E and E0, each class's [tokens, D] rows one after another ([C, minLen, D] when uniform). */
  labelEmbeddings: Float32Array;
  initialLabelEmbeddings: Float32Array;
  /** Normalised text features [C, P]. */
  textFeatures: Float32Array;
  /** CoOp's learned context [n, D], else null. */
  context: Float32Array | null;
  baseModel: { name: string; sha256: string };
  metrics: RunMetrics | null;
}

export interface RunClassifier extends Classifier {
  runId: number;
  classIds: number[];
}

export function loadRunClassifier(store: ProjectStore, runId: number): RunClassifier {
  const run = store.getRun(runId);
  if (run.kind === 'zeroshot') throw new Error(`run ${runId} is a zero-shot run; it has no learned label embeddings`);
  if (run.status !== 'done') throw new Error(`run ${runId} is ${run.status}, not finished`);
  const config = run.config as { method: TrainMethod; setup: RunSetupRecord };
  if (!config.setup) throw new Error(`run ${runId} has no label-token setup recorded`);
  const runClasses = store.getRunClasses(runId);
  const rows = store.getLabelEmbeddings(runId);
  const text = getRunTensor(store, runId, 'text_features');
  if (!text || rows.length !== runClasses.length) throw new Error(`run ${runId} has no stored classifier`);
  const model = run.modelId === null ? null : store.getModel(run.modelId);
  const width = rows[0].dim;
  const labelEmbeddings = new Float32Array(rows.reduce((n, r) => n + r.data.length, 0));
  const initialLabelEmbeddings = new Float32Array(labelEmbeddings.length);
  let offset = 0;
  for (const r of rows) {
    labelEmbeddings.set(r.data, offset);
    initialLabelEmbeddings.set(r.init, offset);
    offset += r.data.length;
  }
  return {
    ...config.setup,
    runId,
    method: config.method,
    classIds: runClasses.map((c) => c.classId),
    classes: runClasses.map((c) => ({ folder: store.getClass(c.classId).folder, promptName: c.promptName })),
    width,
    projectionDim: text.shape[1],
    tokensPerClass: rows.map((r) => r.tokens),
    labelEmbeddings,
    initialLabelEmbeddings,
    textFeatures: text.data,
    context: getRunTensor(store, runId, 'context')?.data ?? null,
    baseModel: { name: model ? model.folder.split(/[\\/]/).pop()! : 'unknown', sha256: model?.weightsSha256 ?? '' },
    metrics: run.metrics,
  };
}

// The one door between the engine and every front end (Electron IPC, `lamm serve`'s WebSocket,
// the renderer). Every call is one entry of METHODS below: a zod schema of its parameters
// (checked at run time by rpc.ts's dispatch, which every adapter goes through) and its result
// type; every pushed message an entry of LammEvents. The TypeScript types are inferred from
// METHODS, so adding a call means one line there and one method in service.ts. Plain data
// only: everything here crosses a structured-clone or JSON boundary, and the renderer imports
// this file, so it imports no engine code beyond plain schemas and types.

import { z } from 'zod';
import { TRAIN_CONFIG_INPUT, type TrainConfig, type TrainConfigInput, type TrainMethod } from '../lamm/config';
import type { DuplicateGroup, SearchHit } from '../data/curation';
import type { RunKind, RunStatus } from '../data/store';
import type { Classification } from '../export/classify';
import { EXPORT_FORMATS, type ExportFormat } from '../export/formats';
import type { LossTermName } from '../lamm/loss-terms';
import type { LabelTokenReport, TokenNeighbour } from '../lamm/neighbours';
import type { EpochRecord } from '../lamm/trainer';
import type { Progress } from '../jobs/context';
import type { Comparison } from '../lamm/compare';
import type { EmbeddingMap } from '../data/embedding-map';
import { MAP_PROJECTIONS } from '../data/map-projections';

// Type-only imports of plain engine shapes keep each fact in one place; they vanish at build
// time. lamm/config, loss-terms, methods and report-defaults are plain data (+ zod), so their schemas,
// tables and defaults may come along.
export type { TrainConfig, TrainConfigInput, TrainMethod, LossTermName, EpochRecord, LabelTokenReport, TokenNeighbour };
export { LOSS_TERMS, WEIGHTED_LOSS_TERMS } from '../lamm/loss-terms';
export { METHOD_SPECS, TRAIN_METHODS } from '../lamm/methods';
export { DEFAULT_NEIGHBOURS } from '../lamm/report-defaults';
export type { DuplicateGroup, SearchHit, RunKind, RunStatus, Classification, ExportFormat };
export { EXPORT_FORMATS };

// ---------- shared shapes ----------

export type Split = 'train' | 'test';

export interface ProjectSummary {
  /** The project's SQLite file. */
  dbPath: string;
  name: string;
  /** The image folder it was imported from, if any. */
  dataFolder: string | null;
  classCount: number;
  imageCount: number;
  /** The model new runs use, if one was added. */
  modelId: number | null;
}

export interface RecentProject {
  dbPath: string;
  name: string;
  openedAt: string;
}

export interface AppStatus {
  version: string;
  /** The TensorFlow.js backend in use, e.g. "wasm (1 thread)"; null until the engine first starts it. */
  backend: string | null;
  /** Which adapter the renderer is talking to. */
  host: 'electron' | 'server';
  project: ProjectSummary | null;
  jobs: JobInfo[];
}

export interface ClassRow {
  id: number;
  folder: string;
  /** The words that go into the prompt template; the folder name with _/- as spaces until renamed. */
  promptName: string;
  /** Non-excluded images per split; excluded; all present images. */
  counts: { train: number; test: number; excluded: number; total: number };
}

export interface ImageRow {
  id: number;
  classId: number;
  /** Path relative to the data folder (what the user recognises). */
  relPath: string;
  split: Split;
  excluded: boolean;
  /** Among the K training shots last drawn on the Dataset page (what a run with that K and seed trains on). */
  shot: boolean;
}

export interface ImageUpdate {
  ids: number[];
  excluded?: boolean;
  classId?: number;
}

export interface SplitRequest {
  shots: number;
  seed: number;
}

export interface SplitSummary {
  shots: number;
  seed: number;
  /** Per class folder: training shots taken (fewer than asked when a class is small). */
  perClass: Record<string, { shots: number; test: number }>;
}

/** A likely label issue, found out of sample (k-fold probes + confident learning, data/label-issues.ts). */
export interface MislabelCandidate {
  imageId: number;
  labelledClassId: number;
  suggestedClassId: number;
  /** Out-of-sample probability of the suggested class. */
  confidence: number;
  /** 1 − out-of-sample probability of the current label; the list is ordered by it, highest first. */
  score: number;
}

export interface ModelInfo {
  id: number;
  folder: string;
  name: string;
  sha256: string;
  /** Short description: "ViT-B/32, 512-d" style, from config.json. */
  summary: string;
}

export interface DownloadableModel {
  repo: string;
  revision: string;
  title: string;
  sizeBytes: number;
}

export interface RunSummary {
  id: number;
  kind: RunKind;
  status: RunStatus;
  createdAt: string;
  backend: string | null;
  modelId: number | null;
  /** Test accuracy when finished. */
  accuracy: number | null;
  config: Partial<TrainConfig>;
}

export interface RunDetail extends RunSummary {
  log: EpochRecord[];
  /** Test accuracy per class folder. */
  perClass: Record<string, number>;
  error: string | null;
}

export type { Comparison, ImageFlip } from '../lamm/compare';
export type { EmbeddingMap, MapLabel, MapPoint } from '../data/embedding-map';
export { MAP_PROJECTIONS, type MapProjection } from '../data/map-projections';

export interface ExportResult {
  /** Files written, the manifest first. */
  files: string[];
}

export const PATH_KINDS = ['folder', 'file', 'save'] as const;
export type PathKind = (typeof PATH_KINDS)[number];

// ---------- jobs ----------

/** Long work: the starting call returns a job id at once; events carry progress and the outcome. */
export interface JobRef {
  jobId: string;
}

export interface JobResults {
  import: ProjectSummary;
  demo: ProjectSummary;
  features: { images: number };
  duplicates: DuplicateGroup[];
  mislabels: MislabelCandidate[];
  download: ModelInfo;
  zeroshot: RunSummary;
  train: RunSummary;
  export: ExportResult;
  classify: Classification[];
  map: EmbeddingMap;
}
export type JobKind = keyof JobResults;

export type JobProgress = Progress;

export interface JobInfo {
  id: string;
  kind: JobKind;
  title: string;
  startedAt: string;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  progress: JobProgress | null;
}

// ---------- the calls ----------

/** A call: its parameters' schema and, as a type only, its result (the service's own output). */
export interface CallSpec<P extends z.ZodType = z.ZodType, R = unknown> {
  readonly params: P;
  readonly result?: R;
}

/** `takes({ field: schema, ... }).returns<Result>()`: an object of exactly those fields. */
function takes<S extends z.ZodRawShape>(shape: S): { returns<R>(): CallSpec<z.ZodObject<S, z.core.$strict>, R> };
/** `takes(schema).returns<Result>()`: parameters described by any schema. */
function takes<P extends z.ZodType>(schema: P): { returns<R>(): CallSpec<P, R> };
function takes(shapeOrSchema: z.ZodRawShape | z.ZodType) {
  const params = shapeOrSchema instanceof z.ZodType ? shapeOrSchema : z.strictObject(shapeOrSchema);
  return { returns: () => ({ params }) };
}

/** No parameters: the clients send null (JSON) or undefined (IPC); the handler gets undefined. */
const nothing = takes(z.custom<void>((v) => v === null || v === undefined, { error: 'takes no parameters' }).transform(() => undefined));

const id = z.int();
const text = z.string();

export const METHODS = {
  getStatus: nothing.returns<AppStatus>(),

  listRecentProjects: nothing.returns<RecentProject[]>(),
  createProject: takes({ dbPath: text, dataFolder: text.optional() }).returns<ProjectSummary>(),
  openProject: takes({ dbPath: text }).returns<ProjectSummary>(),
  /** Builds (first time) and opens the bundled demo: tiny model + generated dataset. */
  openDemo: nothing.returns<JobRef>(),

  importFolder: takes({ folder: text }).returns<JobRef>(),
  listClasses: nothing.returns<ClassRow[]>(),
  renameClass: takes({ classId: id, promptName: text }).returns<ClassRow>(),
  makeSplit: takes({ shots: z.number(), seed: z.number() }).returns<SplitSummary>(),
  listImages: nothing.returns<ImageRow[]>(),
  updateImages: takes({ ids: z.array(id), excluded: z.boolean().optional(), classId: id.optional() }).returns<{ updated: number }>(),
  findDuplicates: takes({ threshold: z.number().optional() }).returns<JobRef>(),
  findMislabels: nothing.returns<JobRef>(),
  searchImages: takes({ query: text, limit: id.optional() }).returns<SearchHit[]>(),

  listModels: nothing.returns<ModelInfo[]>(),
  addModel: takes({ folder: text }).returns<ModelInfo>(),
  selectModel: takes({ modelId: id }).returns<ProjectSummary>(),
  listDownloadableModels: nothing.returns<DownloadableModel[]>(),
  downloadModel: takes({ repo: text, destFolder: text }).returns<JobRef>(),

  getTrainDefaults: nothing.returns<TrainConfig>(),
  startZeroShot: takes({ template: text.optional() }).returns<JobRef>(),
  startTraining: takes(TRAIN_CONFIG_INPUT).returns<JobRef>(),
  listRuns: nothing.returns<RunSummary[]>(),
  getRun: takes({ runId: id }).returns<RunDetail>(),
  /** Class-incremental merge of LAMM runs on disjoint classes into a new run (lamm/merge.ts). */
  mergeRuns: takes({ runIds: z.array(id).min(2, 'choose at least two runs to merge') }).returns<RunSummary>(),

  /** `wordsOnly`: neighbours drawn from whole-word tokens only (the original's rank still counts every token). */
  getNeighbours: takes({ runId: id, k: id.optional(), wordsOnly: z.boolean().optional() }).returns<LabelTokenReport[]>(),
  compareRuns: takes({ runId: id, baseRunId: id.optional() }).returns<Comparison>(),
  /** The images' features in 2-D (cached per model and dataset: a second open is instant), with each class's zero-shot and, for `runId`, learned label placed among them. */
  startEmbeddingMap: takes({ projection: z.enum(MAP_PROJECTIONS), runId: id.optional() }).returns<JobRef>(),

  exportRun: takes({ runId: id, format: z.enum(EXPORT_FORMATS), out: text }).returns<JobRef>(),
  classifyImages: takes({ exportPath: text, images: z.array(text).min(1, 'give at least one image to classify') }).returns<JobRef>(),

  listJobs: nothing.returns<JobInfo[]>(),
  cancelJob: takes({ jobId: text }).returns<{ cancelled: boolean }>(),

  /** A native file dialog where the host has one (Electron); `supported: false` elsewhere. */
  pickPath: takes({ kind: z.enum(PATH_KINDS), title: text.optional(), defaultPath: text.optional() }).returns<{ supported: boolean; path: string | null }>(),
} satisfies Record<string, CallSpec>;

type Methods = typeof METHODS;
export type MethodName = keyof Methods;
/** What the service receives (after parsing). */
export type ParamsOf<M extends MethodName> = z.output<Methods[M]['params']>;
/** What a client passes. */
export type InputOf<M extends MethodName> = z.input<Methods[M]['params']>;
export type ResultOf<M extends MethodName> = Methods[M] extends CallSpec<z.ZodType, infer R> ? R : never;

// ---------- the events ----------

export type JobDone = { [K in JobKind]: { jobId: string; kind: K; result: JobResults[K] } }[JobKind];

export interface LogLine {
  jobId: string;
  level: 'info' | 'warn' | 'error';
  message: string;
  time: string;
}

export interface LammEvents {
  'job:started': JobInfo;
  'job:progress': { jobId: string; progress: JobProgress };
  'job:log': LogLine;
  'job:done': JobDone;
  'job:failed': { jobId: string; kind: JobKind; message: string; cancelled: boolean };
  /** A training or zero-shot run changed: status, or one more epoch in its log. */
  'run:update': { runId: number; status: RunStatus; epoch: EpochRecord | null };
  /** Something the open pages show changed; they refetch what they display. */
  'project:changed': { what: 'project' | 'classes' | 'images' | 'models' | 'runs'; project: ProjectSummary | null };
  'status:backend': { backend: string };
}

export type EventName = keyof LammEvents;

// ---------- the typed client every front end uses ----------

/** `api.listClasses()`, `api.renameClass({...})`: one method per contract entry, plus events. */
export type LammApi = {
  [M in MethodName]: InputOf<M> extends void ? () => Promise<ResultOf<M>> : (params: InputOf<M>) => Promise<ResultOf<M>>;
} & {
  on<E extends EventName>(event: E, handler: (payload: LammEvents[E]) => void): () => void;
};

/** What the service implements: the same calls, server side. */
export type LammHandlers = {
  [M in MethodName]: (params: ParamsOf<M>) => Promise<ResultOf<M>> | ResultOf<M>;
};

/** Every method name, for adapters that must enumerate them (preload's allow-list). */
export const METHOD_NAMES = Object.keys(METHODS) as MethodName[];

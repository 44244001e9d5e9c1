// The one door between the engine and every front end (Electron IPC, `lamm serve`'s WebSocket,
// the renderer). Every call is an entry of LammMethods (params → result) and every pushed
// message an entry of LammEvents; adapters are generic over these two maps, so adding a call
// means adding one line here and one method in service.ts. Plain data only: everything here
// crosses a structured-clone or JSON boundary, and the renderer imports this file, so it must
// never import engine code.

import type { TrainConfig, TrainConfigInput, TrainMethod } from '../lamm/config';
import type { LossTermName } from '../lamm/loss-terms';
import type { Progress } from '../jobs/context';
import type { Comparison } from '../lamm/compare';

// Type-only imports of plain engine shapes keep each fact in one place; they vanish at build
// time, so the renderer still carries no engine code.
export type { TrainConfig, TrainConfigInput, TrainMethod, LossTermName };
// The loss-term list is plain data without imports (no engine code comes with it).
export { LOSS_TERMS, WEIGHTED_LOSS_TERMS } from '../lamm/loss-terms';

// ---------- shared shapes ----------

export type Split = 'train' | 'test';
export type RunKind = 'zeroshot' | TrainMethod;
/** 'interrupted': the process running it died (found and marked when the project was next opened). */
export type RunStatus = 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';
export type ExportFormat = 'safetensors' | 'npy' | 'json';

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

export type ImageFlag = 'duplicate' | 'mislabel';

export interface ImageRow {
  id: number;
  classId: number;
  /** Path relative to the data folder (what the user recognises). */
  relPath: string;
  split: Split;
  excluded: boolean;
  /** Among the K training shots last drawn on the Dataset page (what a run with that K and seed trains on). */
  shot: boolean;
  flags: ImageFlag[];
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

export interface DuplicateGroup {
  imageIds: number[];
  /** Smallest cosine similarity inside the group. */
  similarity: number;
}

export interface MislabelCandidate {
  imageId: number;
  labelledClassId: number;
  suggestedClassId: number;
  /** Probability the current model gives the suggested class. */
  confidence: number;
}

export interface SearchHit {
  imageId: number;
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

/** One epoch of a training run: every loss term, the learning rate and accuracy. */
export interface EpochRecord {
  epoch: number;
  lr: number;
  /** The weighted total. */
  loss: number;
  /** Each term of LOSS_TERMS before its λ; NaN (null over JSON) for a term added after the run was logged. */
  terms: Record<LossTermName, number>;
  trainAccuracy: number;
  testAccuracy: number | null;
  seconds: number;
}

export interface RunDetail extends RunSummary {
  log: EpochRecord[];
  /** Test accuracy per class folder. */
  perClass: Record<string, number>;
  error: string | null;
}

export interface TokenNeighbour {
  token: string;
  cosine: number;
}

export interface LabelTokenReport {
  classId: number;
  folder: string;
  promptName: string;
  tokens: {
    position: number;
    /** The vocabulary token it started from. */
    original: string;
    /** Rank of the original token among all vocabulary tokens by cosine to the learned vector (1 = still nearest). */
    originalRank: number;
    /** ‖E − E0‖ for this token. */
    drift: number;
    neighbours: TokenNeighbour[];
  }[];
}

export type { Comparison, ImageFlip } from '../lamm/compare';

export interface ExportResult {
  /** Files written, the manifest first. */
  files: string[];
}

export interface Classification {
  image: string;
  ranked: { folder: string; promptName: string; probability: number }[];
}

export type PathKind = 'folder' | 'file' | 'save';

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

type Call<P, R> = { params: P; result: R };

export interface LammMethods {
  getStatus: Call<void, AppStatus>;

  listRecentProjects: Call<void, RecentProject[]>;
  createProject: Call<{ dbPath: string; dataFolder?: string }, ProjectSummary>;
  openProject: Call<{ dbPath: string }, ProjectSummary>;
  /** Builds (first time) and opens the bundled demo: tiny model + generated dataset. */
  openDemo: Call<void, JobRef>;

  importFolder: Call<{ folder: string }, JobRef>;
  listClasses: Call<void, ClassRow[]>;
  renameClass: Call<{ classId: number; promptName: string }, ClassRow>;
  makeSplit: Call<SplitRequest, SplitSummary>;
  listImages: Call<void, ImageRow[]>;
  updateImages: Call<ImageUpdate, { updated: number }>;
  findDuplicates: Call<{ threshold?: number }, JobRef>;
  findMislabels: Call<void, JobRef>;
  searchImages: Call<{ query: string; limit?: number }, SearchHit[]>;

  listModels: Call<void, ModelInfo[]>;
  addModel: Call<{ folder: string }, ModelInfo>;
  selectModel: Call<{ modelId: number }, ProjectSummary>;
  listDownloadableModels: Call<void, DownloadableModel[]>;
  downloadModel: Call<{ repo: string; destFolder: string }, JobRef>;

  getTrainDefaults: Call<void, TrainConfig>;
  startZeroShot: Call<{ template?: string }, JobRef>;
  startTraining: Call<TrainConfigInput, JobRef>;
  listRuns: Call<void, RunSummary[]>;
  getRun: Call<{ runId: number }, RunDetail>;

  /** `wordsOnly`: neighbours drawn from whole-word tokens only (the original's rank still counts every token). */
  getNeighbours: Call<{ runId: number; k?: number; wordsOnly?: boolean }, LabelTokenReport[]>;
  compareRuns: Call<{ runId: number; baseRunId?: number }, Comparison>;

  exportRun: Call<{ runId: number; format: ExportFormat; out: string }, JobRef>;
  classifyImages: Call<{ exportPath: string; images: string[] }, JobRef>;

  listJobs: Call<void, JobInfo[]>;
  cancelJob: Call<{ jobId: string }, { cancelled: boolean }>;

  /** A native file dialog where the host has one (Electron); `supported: false` elsewhere. */
  pickPath: Call<{ kind: PathKind; title?: string; defaultPath?: string }, { supported: boolean; path: string | null }>;
}

export type MethodName = keyof LammMethods;
export type ParamsOf<M extends MethodName> = LammMethods[M]['params'];
export type ResultOf<M extends MethodName> = LammMethods[M]['result'];

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
  [M in MethodName]: ParamsOf<M> extends void ? () => Promise<ResultOf<M>> : (params: ParamsOf<M>) => Promise<ResultOf<M>>;
} & {
  on<E extends EventName>(event: E, handler: (payload: LammEvents[E]) => void): () => void;
};

/** What the service implements: the same calls, server side. */
export type LammHandlers = {
  [M in MethodName]: (params: ParamsOf<M>) => Promise<ResultOf<M>> | ResultOf<M>;
};

/** Every method name, for adapters that must enumerate them (preload's allow-list). */
export const METHOD_NAMES = [
  'getStatus', 'listRecentProjects', 'createProject', 'openProject', 'openDemo',
  'importFolder', 'listClasses', 'renameClass', 'makeSplit', 'listImages', 'updateImages',
  'findDuplicates', 'findMislabels', 'searchImages',
  'listModels', 'addModel', 'selectModel', 'listDownloadableModels', 'downloadModel',
  'getTrainDefaults', 'startZeroShot', 'startTraining', 'listRuns', 'getRun',
  'getNeighbours', 'compareRuns', 'exportRun', 'classifyImages',
  'listJobs', 'cancelJob', 'pickPath',
] as const satisfies readonly MethodName[];

// Compile-time proof that METHOD_NAMES lists every method exactly: a missing name makes this an error.
type MissingMethods = Exclude<MethodName, (typeof METHOD_NAMES)[number]>;
const _allMethodsListed: MissingMethods extends never ? true : MissingMethods = true;
void _allMethodsListed;

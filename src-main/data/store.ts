// A project: one SQLite file (see db.ts) plus a thumbnail folder beside it. This class is the
// typed door to its rows: datasets, classes, images, models and runs. Everything here is
// synchronous (better-sqlite3 is); work that decodes images lives in import.ts / features.ts.
import path from 'node:path';
import type { TrainMethod } from '../lamm/methods';
import type { EpochRecord } from '../lamm/trainer';
import { blobToFloats, floatsToBlob, openDatabase, type Db, type OpenOptions, type Statement } from './db';
import { LOSS_TERMS } from '../lamm/loss-terms';
import { currentOwner, ownerAlive, removeTempFiles, type ProcessOwner } from './owner';
import { firstLine } from '../errors';

export type RunKind = 'zeroshot' | TrainMethod;
/** 'interrupted': the process running it died (found and marked when the project was next opened). */
export type RunStatus = 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';

export type SplitName = 'train' | 'test';
export type Layout = 'classes' | 'splits';

export interface DatasetInfo {
  id: number;
  /** Absolute path of the image folder. */
  root: string;
  /** 'splits' when the folder has train/ and test/ inside, else 'classes'. */
  layout: Layout;
  splitSeed: number;
  testFraction: number;
  createdAt: string;
  /** The summary of the last import that ran to the end (import.ts's ImportSummary). */
  lastImport: unknown;
}

export interface ClassInfo {
  id: number;
  datasetId: number;
  /** The folder name on disk: the class's stable key in CLI output and exports. */
  folder: string;
  displayName: string;
  /** The words put into prompt templates. */
  promptName: string;
}

export interface ImageInfo {
  id: number;
  datasetId: number;
  /** Relative to the dataset root, '/'-separated. */
  path: string;
  sha256: string;
  size: number;
  width: number;
  height: number;
  format: string;
  /** The effective label: the user's relabel, else the folder's class. */
  classId: number;
  folderClassId: number;
  /** The effective split: the user's move, else the folder or seeded split. */
  split: SplitName;
  baseSplit: SplitName;
  relabelled: boolean;
  splitOverridden: boolean;
  excluded: boolean;
  /** The file was gone at the last import; the row is kept for its edits and past runs. */
  missing: boolean;
}

export interface ImageFilter {
  split?: SplitName;
  classId?: number;
  /** Excluded images are left out unless this is true. */
  includeExcluded?: boolean;
  /** Images whose files are gone are left out unless this is true. */
  includeMissing?: boolean;
}

export interface ModelRecord {
  id: number;
  folder: string;
  weightsSha256: string;
  cacheKey: string;
  config: unknown;
  registeredAt: string;
}

export interface RunMetrics {
  accuracy: number;
  /** Accuracy per class folder. */
  perClass: Record<string, number>;
  [extra: string]: unknown;
}

export interface RunClass {
  classId: number;
  /** The prompt name the run used (class prompt names can change later). */
  promptName: string;
}

export interface NewRun {
  datasetId: number | null;
  modelId: number | null;
  kind: RunKind;
  config: unknown;
  backend?: string | null;
  /** In logit order; predictions' probability vectors follow it. */
  classes: RunClass[];
}

export interface RunRecord {
  id: number;
  datasetId: number | null;
  modelId: number | null;
  kind: RunKind;
  status: RunStatus;
  config: unknown;
  backend: string | null;
  metrics: RunMetrics | null;
  timings: Record<string, number> | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface LabelEmbeddingRow {
  classId: number;
  tokens: number;
  dim: number;
  /** Learned E [tokens, dim]. */
  data: Float32Array;
  /** E0, where it started [tokens, dim]. */
  init: Float32Array;
}

export interface PredictionRow {
  imageId: number;
  /** The label the image had when the run was made. */
  labelClassId: number;
  predictedClassId: number;
  /** Probability of the predicted class. */
  score: number;
  /** Probabilities in the run's class order. */
  probs?: Float32Array | null;
}

const THUMBNAIL_DIR_SUFFIX = '.thumbs';
const IMAGE_COLUMNS = `id, dataset_id, path, sha256, size, width, height, format, class_id, folder_class_id,
  split, base_split, label_class_id, split_override, excluded, missing`;

export class ProjectStore {
  readonly db: Db;
  /** Absolute path of the SQLite file, or ':memory:'. */
  readonly file: string;
  /** Where thumbnails are cached; null for an in-memory project (no thumbnails). */
  readonly thumbnailDir: string | null;
  private readonly statements = new Map<string, Statement>();

  private constructor(db: Db, file: string) {
    this.db = db;
    this.file = file;
    this.thumbnailDir = file === ':memory:' ? null : file + THUMBNAIL_DIR_SUFFIX;
  }

  /**
   * Opens or creates the project at `file` (':memory:' for a throwaway one). Opening it for
   * writing also tidies up after processes that died while working on it (recoverAbandoned).
   */
  static open(file: string, opts: OpenOptions = {}): ProjectStore {
    const resolved = file === ':memory:' ? file : path.resolve(file);
    const store = new ProjectStore(openDatabase(resolved, opts), resolved);
    if (!opts.readonly) {
      try {
        store.recoverAbandoned();
      } catch (err) {
        store.close();
        throw err;
      }
    }
    return store;
  }

  /**
   * Work whose process is gone: its runs become 'interrupted' (a run left 'running' by a build
   * without leases counts as such too), and the temp thumbnails of its imports are removed.
   * Nothing else changes: what the run logged and what the import committed stay.
   */
  recoverAbandoned(): { interrupted: number[]; tempFiles: number } {
    const leases = this.stmt('SELECT id, kind, run_id, host, pid, process_start FROM leases').all() as LeaseRowDb[];
    const dead = leases.filter((l) => !ownerAlive(leaseOwner(l)));
    let tempFiles = 0;
    for (const l of dead) if (l.kind === 'import' && this.thumbnailDir) tempFiles += removeTempFiles(this.thumbnailDir, leaseOwner(l));
    const interrupted: number[] = [];
    const orphanSql = `SELECT id FROM runs WHERE status = 'running' AND id NOT IN (SELECT run_id FROM leases WHERE run_id IS NOT NULL)`;
    // Only take the write lock when there is something to mend: opening must not wait on a busy writer.
    if (dead.length === 0 && this.stmt(orphanSql).all().length === 0) return { interrupted, tempFiles };
    this.write(() => {
      const mark = this.stmt(`UPDATE runs SET status = 'interrupted', error = ?, finished_at = ? WHERE id = ? AND status = 'running'`);
      for (const l of dead) {
        if (this.stmt('DELETE FROM leases WHERE id = ?').run(l.id).changes === 0) continue; // another process got here first
        if (l.run_id !== null && mark.run(`its process (pid ${l.pid} on ${l.host}) ended before the run did`, Date.now(), l.run_id).changes)
          interrupted.push(l.run_id);
      }
      const orphans = this.stmt(orphanSql).all() as { id: number }[];
      for (const { id } of orphans)
        if (mark.run('it was left running by an earlier version that recorded no owner', Date.now(), id).changes) interrupted.push(id);
    });
    return { interrupted, tempFiles };
  }

  /**
   * Records that this process is importing (writing thumbnails); returns the release. A lease
   * left by a process that died is swept by the next open (recoverAbandoned).
   */
  holdImportLease(): () => void {
    const id = this.write(() => insertLease(this, 'import', null));
    return () => {
      if (this.db.open) this.stmt('DELETE FROM leases WHERE id = ?').run(id);
    };
  }

  close(): void {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }

  /** A cached prepared statement: the same SQL text is compiled once per connection. */
  stmt(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** Runs `fn` in one write transaction (BEGIN IMMEDIATE: take the lock before reading). */
  write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // ---------- datasets ----------

  listDatasets(): DatasetInfo[] {
    return (this.stmt('SELECT * FROM datasets ORDER BY id').all() as DatasetRowDb[]).map(toDataset);
  }

  getDataset(id: number): DatasetInfo {
    const row = this.stmt('SELECT * FROM datasets WHERE id = ?').get(id) as DatasetRowDb | undefined;
    if (!row) throw new Error(`dataset ${id} does not exist in this project`);
    return toDataset(row);
  }

  findDatasetByRoot(root: string): DatasetInfo | null {
    const row = this.stmt('SELECT * FROM datasets WHERE root = ?').get(path.resolve(root)) as DatasetRowDb | undefined;
    return row ? toDataset(row) : null;
  }

  /** The dataset for `root`, created on first use; its layout follows the folder as it is now. */
  ensureDataset(root: string, layout: Layout): DatasetInfo {
    const abs = path.resolve(root);
    this.write(() => {
      this.stmt('INSERT INTO datasets (root, layout, created_at) VALUES (?, ?, ?) ON CONFLICT (root) DO UPDATE SET layout = excluded.layout').run(
        abs,
        layout,
        Date.now(),
      );
    });
    return this.findDatasetByRoot(abs)!;
  }

  setSplitSettings(datasetId: number, settings: { seed?: number; testFraction?: number }): void {
    const d = this.getDataset(datasetId);
    const seed = settings.seed ?? d.splitSeed;
    const testFraction = settings.testFraction ?? d.testFraction;
    if (!Number.isInteger(seed)) throw new Error(`split seed must be an integer, got ${seed}`);
    if (!(testFraction >= 0 && testFraction < 1)) throw new Error(`test fraction must be in [0, 1), got ${testFraction}`);
    this.stmt('UPDATE datasets SET split_seed = ?, test_fraction = ? WHERE id = ?').run(seed, testFraction, datasetId);
  }

  setLastImport(datasetId: number, summary: unknown): void {
    this.stmt('UPDATE datasets SET last_import = ? WHERE id = ?').run(JSON.stringify(summary), datasetId);
  }

  // ---------- classes ----------

  /** Classes that have at least one image present on disk, by folder name. */
  listClasses(datasetId: number): ClassInfo[] {
    const rows = this.stmt(`SELECT c.* FROM classes c WHERE c.dataset_id = ?
        AND EXISTS (SELECT 1 FROM image_labels i WHERE i.class_id = c.id AND i.missing = 0)
      ORDER BY c.folder`).all(datasetId) as ClassRowDb[];
    return rows.map(toClass);
  }

  getClass(id: number): ClassInfo {
    const row = this.stmt('SELECT * FROM classes WHERE id = ?').get(id) as ClassRowDb | undefined;
    if (!row) throw new Error(`class ${id} does not exist in this project`);
    return toClass(row);
  }

  findClassByFolder(datasetId: number, folder: string): ClassInfo | null {
    const row = this.stmt('SELECT * FROM classes WHERE dataset_id = ? AND folder = ?').get(datasetId, folder) as ClassRowDb | undefined;
    return row ? toClass(row) : null;
  }

  /** The class for a folder, created with the default prompt name on first sight. Call inside write(). */
  ensureClass(datasetId: number, folder: string): number {
    const existing = this.stmt('SELECT id FROM classes WHERE dataset_id = ? AND folder = ?').get(datasetId, folder) as { id: number } | undefined;
    if (existing) return existing.id;
    const info = this.stmt('INSERT INTO classes (dataset_id, folder, display_name, prompt_name) VALUES (?, ?, ?, ?)').run(
      datasetId,
      folder,
      folder,
      defaultPromptName(folder),
    );
    return Number(info.lastInsertRowid);
  }

  // ---------- images ----------

  listImages(datasetId: number, filter: ImageFilter = {}): ImageInfo[] {
    const where = ['dataset_id = ?'];
    const args: (string | number)[] = [datasetId];
    if (!filter.includeMissing) where.push('missing = 0');
    if (!filter.includeExcluded) where.push('excluded = 0');
    if (filter.split) {
      where.push('split = ?');
      args.push(filter.split);
    }
    if (filter.classId !== undefined) {
      where.push('class_id = ?');
      args.push(filter.classId);
    }
    const rows = this.stmt(`SELECT ${IMAGE_COLUMNS} FROM image_labels WHERE ${where.join(' AND ')} ORDER BY path`).all(...args) as ImageRowDb[];
    return rows.map(toImage);
  }

  getImage(id: number): ImageInfo {
    const row = this.stmt(`SELECT ${IMAGE_COLUMNS} FROM image_labels WHERE id = ?`).get(id) as ImageRowDb | undefined;
    if (!row) throw new Error(`image ${id} does not exist in this project`);
    return toImage(row);
  }

  /** Absolute path of an image's file. */
  imageFile(image: Pick<ImageInfo, 'datasetId' | 'path'>): string {
    return path.join(this.getDataset(image.datasetId).root, ...image.path.split('/'));
  }

  // ---------- models ----------

  /**
   * Records a model folder. When its cache key (weights hash + preprocessing) differs from the
   * one stored, its cached features are dropped: they came from other weights.
   */
  registerModel(m: { folder: string; weightsSha256: string; cacheKey: string; config: unknown }): ModelRecord {
    const folder = path.resolve(m.folder);
    this.write(() => {
      const old = this.stmt('SELECT id, cache_key FROM models WHERE folder = ?').get(folder) as { id: number; cache_key: string } | undefined;
      if (old && old.cache_key !== m.cacheKey) this.stmt('DELETE FROM features WHERE model_id = ?').run(old.id);
      this.stmt(`INSERT INTO models (folder, weights_sha256, cache_key, config_json, registered_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (folder) DO UPDATE SET weights_sha256 = excluded.weights_sha256, cache_key = excluded.cache_key, config_json = excluded.config_json`).run(
        folder,
        m.weightsSha256,
        m.cacheKey,
        JSON.stringify(m.config),
        Date.now(),
      );
    });
    const row = this.stmt('SELECT * FROM models WHERE folder = ?').get(folder) as ModelRowDb;
    return toModel(row);
  }

  getModel(id: number): ModelRecord {
    const row = this.stmt('SELECT * FROM models WHERE id = ?').get(id) as ModelRowDb | undefined;
    if (!row) throw new Error(`model ${id} does not exist in this project`);
    return toModel(row);
  }

  listModels(): ModelRecord[] {
    return (this.stmt('SELECT * FROM models ORDER BY id').all() as ModelRowDb[]).map(toModel);
  }

  // ---------- runs ----------

  createRun(r: NewRun): number {
    return this.write(() => {
      const info = this.stmt(`INSERT INTO runs (dataset_id, model_id, kind, status, config_json, backend, created_at)
        VALUES (?, ?, ?, 'running', ?, ?, ?)`).run(r.datasetId, r.modelId, r.kind, JSON.stringify(r.config ?? {}), r.backend ?? null, Date.now());
      const runId = Number(info.lastInsertRowid);
      insertLease(this, 'run', runId);
      const insert = this.stmt('INSERT INTO run_classes (run_id, idx, class_id, prompt_name) VALUES (?, ?, ?, ?)');
      r.classes.forEach((c, idx) => insert.run(runId, idx, c.classId, c.promptName));
      return runId;
    });
  }

  appendRunLog(runId: number, e: EpochRecord): void {
    this.stmt(`INSERT OR REPLACE INTO run_log (run_id, epoch, lr, loss, terms_json, train_accuracy, test_accuracy, seconds)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(runId, e.epoch, e.lr, e.loss, JSON.stringify(e.terms), e.trainAccuracy, e.testAccuracy, e.seconds);
  }

  saveLabelEmbeddings(runId: number, rows: LabelEmbeddingRow[]): void {
    const insert = this.stmt('INSERT OR REPLACE INTO label_embeddings (run_id, class_id, tokens, dim, data, init) VALUES (?, ?, ?, ?, ?, ?)');
    this.write(() => {
      for (const r of rows) {
        const n = r.tokens * r.dim;
        if (r.data.length !== n || r.init.length !== n) throw new Error(`label embedding of class ${r.classId} must have ${r.tokens}×${r.dim} values`);
        insert.run(runId, r.classId, r.tokens, r.dim, floatsToBlob(r.data), floatsToBlob(r.init));
      }
    });
  }

  savePredictions(runId: number, rows: PredictionRow[]): void {
    const insert = this.stmt(`INSERT OR REPLACE INTO predictions (run_id, image_id, label_class_id, predicted_class_id, score, probs)
      VALUES (?, ?, ?, ?, ?, ?)`);
    this.write(() => {
      for (const r of rows) insert.run(runId, r.imageId, r.labelClassId, r.predictedClassId, r.score, r.probs ? floatsToBlob(r.probs) : null);
    });
  }

  finishRun(runId: number, metrics: RunMetrics, timings?: Record<string, number>): void {
    this.endRun(runId, 'done', { metrics, timings });
  }

  /** Marks a run failed (or cancelled) with a one-line reason; what it logged so far is kept. */
  failRun(runId: number, error: unknown, opts: { cancelled?: boolean } = {}): void {
    const message = firstLine(error);
    this.endRun(runId, opts.cancelled ? 'cancelled' : 'failed', { error: message });
  }

  getRun(runId: number): RunRecord {
    const row = this.stmt('SELECT * FROM runs WHERE id = ?').get(runId) as RunRowDb | undefined;
    if (!row) throw new Error(`run ${runId} does not exist in this project`);
    return toRun(row);
  }

  listRuns(datasetId?: number): RunRecord[] {
    const rows =
      datasetId === undefined
        ? this.stmt('SELECT * FROM runs ORDER BY id').all()
        : this.stmt('SELECT * FROM runs WHERE dataset_id = ? ORDER BY id').all(datasetId);
    return (rows as RunRowDb[]).map(toRun);
  }

  /** The newest finished run with this model (on this dataset when given): a zero-shot one, or one of any trained method. */
  latestFinishedRun(which: 'zeroshot' | 'trained', modelId: number | null, datasetId: number | null = null): RunRecord | undefined {
    const row = this.stmt(`SELECT * FROM runs WHERE status = 'done' AND model_id IS ? AND (kind = 'zeroshot') = ? AND (? IS NULL OR dataset_id = ?)
      ORDER BY id DESC LIMIT 1`).get(modelId, which === 'zeroshot' ? 1 : 0, datasetId, datasetId) as RunRowDb | undefined;
    return row && toRun(row);
  }

  getRunClasses(runId: number): RunClass[] {
    return (
      this.stmt('SELECT class_id, prompt_name FROM run_classes WHERE run_id = ? ORDER BY idx').all(runId) as { class_id: number; prompt_name: string }[]
    ).map((r) => ({ classId: r.class_id, promptName: r.prompt_name }));
  }

  getRunLog(runId: number): EpochRecord[] {
    return (this.stmt('SELECT * FROM run_log WHERE run_id = ? ORDER BY epoch').all(runId) as RunLogRowDb[]).map((r) => ({
      epoch: r.epoch,
      lr: r.lr,
      loss: r.loss,
      terms: readTerms(r.terms_json),
      trainAccuracy: r.train_accuracy,
      testAccuracy: r.test_accuracy,
      seconds: r.seconds,
    }));
  }

  getLabelEmbeddings(runId: number): LabelEmbeddingRow[] {
    const rows = this.stmt(`SELECT l.* FROM label_embeddings l JOIN run_classes rc ON rc.run_id = l.run_id AND rc.class_id = l.class_id
      WHERE l.run_id = ? ORDER BY rc.idx`).all(runId) as { class_id: number; tokens: number; dim: number; data: Buffer; init: Buffer }[];
    return rows.map((r) => ({ classId: r.class_id, tokens: r.tokens, dim: r.dim, data: blobToFloats(r.data), init: blobToFloats(r.init) }));
  }

  getPredictions(runId: number): PredictionRow[] {
    const rows = this.stmt('SELECT * FROM predictions WHERE run_id = ? ORDER BY image_id').all(runId) as PredictionRowDb[];
    return rows.map((r) => ({
      imageId: r.image_id,
      labelClassId: r.label_class_id,
      predictedClassId: r.predicted_class_id,
      score: r.score,
      probs: r.probs ? blobToFloats(r.probs) : null,
    }));
  }

  private endRun(runId: number, status: RunStatus, end: { metrics?: RunMetrics; timings?: Record<string, number>; error?: string }): void {
    this.write(() => {
      const run = this.getRun(runId);
      this.stmt('UPDATE runs SET status = ?, metrics_json = ?, timings_json = ?, error = ?, finished_at = ? WHERE id = ?').run(
        status,
        jsonOrNull(end.metrics ?? run.metrics),
        jsonOrNull(end.timings ?? run.timings),
        end.error ?? null,
        Date.now(),
        runId,
      );
      this.stmt('DELETE FROM leases WHERE run_id = ?').run(runId);
    });
  }
}

function insertLease(store: ProjectStore, kind: 'run' | 'import', runId: number | null): number {
  const o = currentOwner();
  const info = store
    .stmt('INSERT INTO leases (kind, run_id, host, pid, process_start, created_at) VALUES (?, ?, ?, ?, ?, ?)')
    .run(kind, runId, o.host, o.pid, o.start, Date.now());
  return Number(info.lastInsertRowid);
}

function leaseOwner(l: LeaseRowDb): ProcessOwner {
  return { host: l.host, pid: l.pid, start: l.process_start };
}

/** A folder name as prompt words: `golden_retriever` and `golden-retriever` read "golden retriever". */
export function defaultPromptName(folder: string): string {
  return folder.replace(/[_-]+/g, ' ').replace(/\s+/g, ' ').trim() || folder;
}

// ---------- row mapping ----------

/** Every term of LOSS_TERMS; one the run did not log (added since) reads NaN. */
function readTerms(json: string): EpochRecord['terms'] {
  const stored = JSON.parse(json) as Record<string, unknown>;
  return Object.fromEntries(LOSS_TERMS.map((t) => [t.name, typeof stored[t.name] === 'number' ? stored[t.name] : Number.NaN])) as EpochRecord['terms'];
}

interface DatasetRowDb {
  id: number;
  root: string;
  layout: Layout;
  split_seed: number;
  test_fraction: number;
  created_at: number;
  last_import: string | null;
}
interface ClassRowDb {
  id: number;
  dataset_id: number;
  folder: string;
  display_name: string;
  prompt_name: string;
}
interface ImageRowDb {
  id: number;
  dataset_id: number;
  path: string;
  sha256: string;
  size: number;
  width: number;
  height: number;
  format: string;
  class_id: number;
  folder_class_id: number;
  split: SplitName;
  base_split: SplitName;
  label_class_id: number | null;
  split_override: SplitName | null;
  excluded: number;
  missing: number;
}
interface ModelRowDb {
  id: number;
  folder: string;
  weights_sha256: string;
  cache_key: string;
  config_json: string;
  registered_at: number;
}
interface RunRowDb {
  id: number;
  dataset_id: number | null;
  model_id: number | null;
  kind: RunKind;
  status: RunStatus;
  config_json: string;
  backend: string | null;
  metrics_json: string | null;
  timings_json: string | null;
  error: string | null;
  created_at: number;
  finished_at: number | null;
}
interface LeaseRowDb {
  id: number;
  kind: 'run' | 'import';
  run_id: number | null;
  host: string;
  pid: number;
  process_start: string;
}
interface RunLogRowDb {
  epoch: number;
  lr: number;
  loss: number;
  terms_json: string;
  train_accuracy: number;
  test_accuracy: number | null;
  seconds: number;
}
interface PredictionRowDb {
  image_id: number;
  label_class_id: number;
  predicted_class_id: number;
  score: number;
  probs: Buffer | null;
}

function toDataset(r: DatasetRowDb): DatasetInfo {
  return {
    id: r.id,
    root: r.root,
    layout: r.layout,
    splitSeed: r.split_seed,
    testFraction: r.test_fraction,
    createdAt: new Date(r.created_at).toISOString(),
    lastImport: r.last_import ? JSON.parse(r.last_import) : null,
  };
}

function toClass(r: ClassRowDb): ClassInfo {
  return { id: r.id, datasetId: r.dataset_id, folder: r.folder, displayName: r.display_name, promptName: r.prompt_name };
}

function toImage(r: ImageRowDb): ImageInfo {
  return {
    id: r.id,
    datasetId: r.dataset_id,
    path: r.path,
    sha256: r.sha256,
    size: r.size,
    width: r.width,
    height: r.height,
    format: r.format,
    classId: r.class_id,
    folderClassId: r.folder_class_id,
    split: r.split,
    baseSplit: r.base_split,
    relabelled: r.label_class_id !== null,
    splitOverridden: r.split_override !== null,
    excluded: r.excluded === 1,
    missing: r.missing === 1,
  };
}

function toModel(r: ModelRowDb): ModelRecord {
  return {
    id: r.id,
    folder: r.folder,
    weightsSha256: r.weights_sha256,
    cacheKey: r.cache_key,
    config: JSON.parse(r.config_json),
    registeredAt: new Date(r.registered_at).toISOString(),
  };
}

function toRun(r: RunRowDb): RunRecord {
  return {
    id: r.id,
    datasetId: r.dataset_id,
    modelId: r.model_id,
    kind: r.kind,
    status: r.status,
    config: JSON.parse(r.config_json),
    backend: r.backend,
    metrics: r.metrics_json ? JSON.parse(r.metrics_json) : null,
    timings: r.timings_json ? JSON.parse(r.timings_json) : null,
    error: r.error,
    createdAt: new Date(r.created_at).toISOString(),
    finishedAt: r.finished_at === null ? null : new Date(r.finished_at).toISOString(),
  };
}

function jsonOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : JSON.stringify(v);
}

// The contract implemented over the engine. One instance per window / server. It holds the
// open project and the loaded model, runs long work as jobs, and turns engine results into the
// contract's plain shapes. No engine logic lives here: every method is calls into
// src-main/{clip,data,lamm,export} plus bookkeeping.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type {
  AppStatus,
  ClassRow,
  ImageRow,
  LabelTokenReport,
  LammHandlers,
  ModelInfo,
  ParamsOf,
  ProjectSummary,
  RecentProject,
  ResultOf,
  RunDetail,
  RunSummary,
  TrainConfig,
} from './contract';
import { EventHub } from './rpc';
import { JobRegistry } from './job-registry';
import { downloadPinnedModel, findPinnedModel, PINNED_MODELS } from '../clip/download';
import { compareWithBaseline } from '../lamm/compare';
import { describeBackend, initBackend } from '../backend';
import { loadClip, type ClipModel } from '../clip';
import { ProjectStore, type ModelRecord, type RunRecord } from '../data/store';
import { importFolder } from '../data/import';
import { selectShots } from '../data/splits';
import { classCounts, findNearDuplicates, groupDuplicates, relabel, renamePrompt, searchByText, setExcluded } from '../data/curation';
import { registerClipModel } from '../data/features';
import { findLabelIssues } from '../data/label-issues';
import { buildEmbeddingMap } from '../data/embedding-map';
import { thumbnailFile } from '../data/thumbnails';
import { DEFAULT_TRAIN_CONFIG } from '../lamm/config';
import { METHOD_SPECS } from '../lamm/methods';
import { runZeroShot } from '../lamm/zeroshot';
import { runTrainingJob, type GpuRelay } from '../jobs/training';
import { loadRunClassifier } from '../lamm/classifier';
import { runNeighbours } from '../lamm/neighbours';
import { mergeRuns } from '../lamm/merge';
import { exportClassifier, importExport } from '../export/export';
import { DEMO_MODEL_DIR, generateDemoDataset, loadRecipe } from '../demo/dataset';
import { classifyImages } from '../export/classify';

export interface ServiceOptions {
  host: AppStatus['host'];
  /** Where app state that is not part of a project lives (recent projects). */
  stateDir: string;
  version: string;
}

const RECENT_LIMIT = 12;

interface OpenProject {
  store: ProjectStore;
  /** The project's dataset (one per project in the app), once something was imported. */
  datasetId: number | null;
  /** The model new work uses. */
  modelId: number | null;
  /** The K and seed last drawn on the Dataset page. */
  shots: { shots: number; seed: number } | null;
}

export class LammService implements LammHandlers {
  readonly hub = new EventHub();
  readonly jobs = new JobRegistry(this.hub);
  private project: OpenProject | null = null;
  private loaded: { folder: string; sha256: string; model: ClipModel } | null = null;
  private backend: string | null = null;

  constructor(private readonly opts: ServiceOptions) {}

  // ---------- app ----------

  getStatus(): AppStatus {
    return { version: this.opts.version, backend: this.backend, host: this.opts.host, project: this.summary(), jobs: this.jobs.list() };
  }

  async listRecentProjects(): Promise<RecentProject[]> {
    return readRecent(this.recentFile());
  }

  // ---------- projects ----------

  async createProject({ dbPath, dataFolder }: ParamsOf<'createProject'>): Promise<ProjectSummary> {
    const file = path.resolve(dbPath);
    if (existsSync(file)) throw new Error(`${file} already exists: open it instead, or choose another name`);
    if (dataFolder && !existsSync(dataFolder)) throw new Error(`the image folder ${dataFolder} does not exist`);
    await fs.mkdir(path.dirname(file), { recursive: true });
    return this.open(file);
  }

  async openProject({ dbPath }: ParamsOf<'openProject'>): Promise<ProjectSummary> {
    const file = path.resolve(dbPath);
    if (!existsSync(file)) throw new Error(`no project file at ${file}`);
    return this.open(file);
  }

  /** The demo: its dataset generated from the committed recipe, imported into a project in the state folder, with the committed demo CLIP. */
  openDemo(): ResultOf<'openDemo'> {
    const dir = path.join(this.opts.stateDir, 'demo');
    return this.jobs.start('demo', 'Preparing the demo project', async (ctx) => {
      if (!existsSync(path.join(DEMO_MODEL_DIR, 'config.json'))) throw new Error(`the demo model is missing (${DEMO_MODEL_DIR}): run \`lamm demo --pretrain\``);
      const data = await generateDemoDataset(path.join(dir, 'data'), loadRecipe(), { ctx });
      ctx.log(`${data.written ? 'generated' : 'found'} ${data.images.train + data.images.test} demo images in ${data.dir}`);
      await this.open(path.join(dir, 'demo.lamm.sqlite'), { allowRunning: true });
      const p = this.requireProject();
      // `npm start` opens the demo every time: the images it already holds need no re-import.
      const imported = !data.written && p.datasetId !== null && this.summary()!.imageCount === data.images.train + data.images.test;
      if (imported) ctx.log(`reopened ${p.store.file} (already imported)`);
      else {
        const s = await importFolder(p.store, data.dir, {}, ctx);
        p.datasetId = s.datasetId;
        ctx.log(`imported ${s.images} images in ${s.classes} classes into ${p.store.file}`);
      }
      await this.addModel({ folder: DEMO_MODEL_DIR });
      this.changed('images');
      return this.summary()!;
    });
  }

  // ---------- dataset and curation ----------

  importFolder({ folder }: ParamsOf<'importFolder'>): ResultOf<'importFolder'> {
    const p = this.requireProject();
    const root = path.resolve(folder);
    return this.jobs.start('import', `Importing ${path.basename(root)}`, async (ctx) => {
      const s = await importFolder(p.store, root, {}, ctx);
      p.datasetId = s.datasetId;
      for (const f of s.skipped) ctx.log(`skipped ${f.path}: ${f.reason}`, 'warn');
      ctx.log(
        `${s.images} images in ${s.classes} classes: ${s.added} added, ${s.changed} changed, ${s.moved} moved, ${s.removed} gone, ${s.skipped.length} skipped`,
      );
      this.changed('images');
      return this.summary()!;
    });
  }

  listClasses(): ClassRow[] {
    const p = this.requireProject();
    if (p.datasetId === null) return [];
    return classCounts(p.store, p.datasetId).map((c) => ({
      id: c.id,
      folder: c.folder,
      promptName: c.promptName,
      counts: { train: c.train, test: c.test, excluded: c.excluded, total: c.total },
    }));
  }

  renameClass({ classId, promptName }: ParamsOf<'renameClass'>): ClassRow {
    const p = this.requireProject();
    renamePrompt(p.store, classId, promptName);
    this.changed('classes');
    const row = this.listClasses().find((c) => c.id === classId);
    if (!row) throw new Error(`class ${classId} has no images in this project`);
    return row;
  }

  makeSplit({ shots, seed }: ParamsOf<'makeSplit'>): ResultOf<'makeSplit'> {
    const p = this.requireProject();
    const datasetId = this.requireDataset(p);
    const selection = selectShots(p.store, datasetId, { shots, seed });
    p.shots = { shots, seed };
    const counts = new Map(classCounts(p.store, datasetId).map((c) => [c.id, c]));
    this.changed('images');
    return {
      shots,
      seed,
      perClass: Object.fromEntries(selection.classes.map((c) => [c.folder, { shots: c.imageIds.length, test: counts.get(c.classId)?.test ?? 0 }])),
    };
  }

  listImages(): ImageRow[] {
    const p = this.requireProject();
    if (p.datasetId === null) return [];
    const shotIds = this.shotIds(p);
    return p.store.listImages(p.datasetId, { includeExcluded: true }).map((img) => ({
      id: img.id,
      classId: img.classId,
      relPath: img.path,
      split: img.split,
      excluded: img.excluded,
      shot: shotIds.has(img.id),
    }));
  }

  updateImages({ ids, excluded, classId }: ParamsOf<'updateImages'>): ResultOf<'updateImages'> {
    const p = this.requireProject();
    let updated = 0;
    if (excluded !== undefined) updated += setExcluded(p.store, ids, excluded);
    if (classId !== undefined) updated += relabel(p.store, ids, classId);
    this.changed('images');
    return { updated };
  }

  findDuplicates({ threshold }: ParamsOf<'findDuplicates'>): ResultOf<'findDuplicates'> {
    const p = this.requireProject();
    const datasetId = this.requireDataset(p);
    return this.jobs.start('duplicates', 'Finding near-duplicates', async (ctx) => {
      const model = await this.model(p);
      return groupDuplicates(await findNearDuplicates(p.store, model, datasetId, { threshold }, ctx));
    });
  }

  findMislabels(): ResultOf<'findMislabels'> {
    const p = this.requireProject();
    const datasetId = this.requireDataset(p);
    return this.jobs.start('mislabels', 'Finding likely mislabels', async (ctx) => {
      const model = await this.model(p);
      const report = await findLabelIssues(p.store, model, datasetId, {}, ctx);
      for (const f of report.failed) ctx.log(`left out ${f.path}: ${f.reason}`, 'warn');
      ctx.log(`checked ${report.checked} images with ${report.folds}-fold ${report.probe} probes: ${report.issues.length} likely label issues`);
      return report.issues.map((i) => ({
        imageId: i.imageId,
        labelledClassId: i.givenClassId,
        suggestedClassId: i.suggestedClassId,
        confidence: i.suggestedProbability,
        score: i.score,
      }));
    });
  }

  async searchImages({ query, limit }: ParamsOf<'searchImages'>): Promise<ResultOf<'searchImages'>> {
    const p = this.requireProject();
    const datasetId = this.requireDataset(p);
    return searchByText(p.store, await this.model(p), datasetId, query, { limit });
  }

  // ---------- models ----------

  listModels(): ModelInfo[] {
    if (!this.project) return [];
    return this.project.store.listModels().map(modelInfo);
  }

  async addModel({ folder }: ParamsOf<'addModel'>): Promise<ModelInfo> {
    const p = this.requireProject();
    const model = await this.loadModel(path.resolve(folder));
    const record = registerClipModel(p.store, model);
    p.modelId = record.id;
    this.changed('models');
    return modelInfo(record);
  }

  selectModel({ modelId }: ParamsOf<'selectModel'>): ProjectSummary {
    const p = this.requireProject();
    p.store.getModel(modelId);
    p.modelId = modelId;
    this.changed('models');
    return this.summary()!;
  }

  listDownloadableModels(): ResultOf<'listDownloadableModels'> {
    return PINNED_MODELS.map((m) => ({ repo: m.repo, revision: m.revision, title: m.title, sizeBytes: m.approxBytes }));
  }

  downloadModel({ repo, destFolder }: ParamsOf<'downloadModel'>): ResultOf<'downloadModel'> {
    const pinned = findPinnedModel(repo);
    const dest = path.resolve(destFolder);
    return this.jobs.start('download', `Downloading ${pinned.title}`, async (ctx) => {
      await downloadPinnedModel(pinned, dest, ctx);
      ctx.log(`verified ${pinned.files.length} files in ${dest}`);
      if (!this.project) throw new Error(`downloaded to ${dest}; open a project to add it`);
      return this.addModel({ folder: dest });
    });
  }

  // ---------- runs ----------

  getTrainDefaults(): TrainConfig {
    const shots = this.project?.shots;
    return { ...structuredClone(DEFAULT_TRAIN_CONFIG), ...(shots ?? {}) };
  }

  startZeroShot({ template }: ParamsOf<'startZeroShot'>): ResultOf<'startZeroShot'> {
    const p = this.requireProject();
    const datasetId = this.requireDataset(p);
    return this.jobs.start('zeroshot', 'Zero-shot CLIP (test split)', async (ctx) => {
      const model = await this.model(p);
      // The test split, so it compares one to one with trained runs (they evaluate there).
      const r = await runZeroShot(p.store, model, { datasetId, templates: template ? [template] : undefined, split: 'test' }, ctx);
      for (const f of r.failed) ctx.log(`left out ${f.path}: ${f.reason}`, 'warn');
      ctx.log(`zero-shot accuracy ${(100 * r.accuracy).toFixed(1)}% on ${r.images} images`);
      this.hub.emit('run:update', { runId: r.runId, status: 'done', epoch: null });
      this.changed('runs');
      return runSummary(p.store.getRun(r.runId));
    });
  }

  /** Electron lends its GPU host page here (see index.ts); elsewhere the worker trains on its own backend. */
  protected async gpuRelay(): Promise<GpuRelay | undefined> {
    return undefined;
  }

  startTraining(config: ParamsOf<'startTraining'>): ResultOf<'startTraining'> {
    const p = this.requireProject();
    const datasetId = this.requireDataset(p);
    if (p.modelId === null) throw new Error('no model in this project yet: add one on the Model page');
    const modelDir = p.store.getModel(p.modelId).folder;
    return this.jobs.start('train', `Training ${METHOD_SPECS[config.method ?? DEFAULT_TRAIN_CONFIG.method].title}`, async (ctx) => {
      let runId: number | null = null;
      try {
        // A worker thread trains, so this process keeps answering calls meanwhile.
        const relay = await this.gpuRelay();
        const outcome = await runTrainingJob(
          { dbFile: p.store.file, modelDir, datasetId, config },
          ctx,
          (e) => {
            if (e.type === 'run') {
              runId = e.runId;
              this.hub.emit('run:update', { runId: e.runId, status: 'running', epoch: null });
              this.changed('runs');
            } else if (e.type === 'epoch') {
              // Progress comes from the trainer's steps (through runTrainingJob), not from here.
              this.hub.emit('run:update', { runId: e.runId, status: 'running', epoch: e.record });
            } else if (e.type === 'backend') {
              ctx.log(`backend: ${e.backend}`);
              if (!this.backend) {
                this.backend = e.backend;
                this.hub.emit('status:backend', { backend: e.backend });
              }
            } else if (e.type === 'log') {
              ctx.log(e.message);
            }
          },
          relay,
        );
        ctx.log(`zero-shot ${(100 * outcome.zeroShot.accuracy).toFixed(1)}% → trained ${(100 * outcome.trained.accuracy).toFixed(1)}%`);
        return runSummary(p.store.getRun(outcome.runId));
      } finally {
        if (runId !== null) {
          this.hub.emit('run:update', { runId, status: p.store.getRun(runId).status, epoch: null });
          this.changed('runs');
        }
      }
    });
  }

  listRuns(): RunSummary[] {
    const p = this.project;
    if (!p || p.datasetId === null) return [];
    return p.store.listRuns(p.datasetId).map(runSummary).reverse();
  }

  getRun({ runId }: ParamsOf<'getRun'>): RunDetail {
    const p = this.requireProject();
    const run = p.store.getRun(runId);
    return { ...runSummary(run), log: p.store.getRunLog(runId), perClass: run.metrics?.perClass ?? {}, error: run.error };
  }

  async mergeRuns({ runIds }: ParamsOf<'mergeRuns'>): Promise<ResultOf<'mergeRuns'>> {
    const p = this.requireProject();
    const { runId } = await mergeRuns(p.store, runIds);
    this.changed('runs');
    return runSummary(p.store.getRun(runId));
  }

  async getNeighbours({ runId, k, wordsOnly }: ParamsOf<'getNeighbours'>): Promise<LabelTokenReport[]> {
    const p = this.requireProject();
    return runNeighbours(p.store, await this.modelForRun(p, runId), runId, { k, wordsOnly });
  }

  compareRuns({ runId, baseRunId }: ParamsOf<'compareRuns'>): ResultOf<'compareRuns'> {
    return compareWithBaseline(this.requireProject().store, runId, baseRunId);
  }

  startEmbeddingMap({ projection, runId }: ParamsOf<'startEmbeddingMap'>): ResultOf<'startEmbeddingMap'> {
    const p = this.requireProject();
    const datasetId = this.requireDataset(p);
    return this.jobs.start('map', `Embedding map (${projection.toUpperCase()})`, async (ctx) => {
      const map = await buildEmbeddingMap(p.store, await this.model(p), datasetId, { projection, runId, shotIds: this.shotIds(p) }, ctx);
      ctx.log(`${map.points.length} images mapped by ${map.projection.toUpperCase()}${map.cached ? ' (cached)' : ''} in ${map.seconds.toFixed(1)} s`);
      return map;
    });
  }

  exportRun({ runId, format, out }: ParamsOf<'exportRun'>): ResultOf<'exportRun'> {
    const p = this.requireProject();
    return this.jobs.start('export', `Exporting run ${runId} as ${format}`, async (ctx) => {
      ctx.progress({ stage: 'export', done: 0, total: 1 });
      const files = exportClassifier(loadRunClassifier(p.store, runId), format, path.resolve(out));
      ctx.progress({ stage: 'export', done: 1, total: 1 });
      return { files };
    });
  }

  classifyImages({ exportPath, images }: ParamsOf<'classifyImages'>): ResultOf<'classifyImages'> {
    return this.jobs.start('classify', `Classifying ${images.length} image${images.length === 1 ? '' : 's'}`, async (ctx) => {
      const classifier = importExport(path.resolve(exportPath));
      const base = this.project?.store.listModels().find((m) => m.weightsSha256 === classifier.baseModel.sha256);
      if (!base)
        throw new Error(
          `the export was made with ${classifier.baseModel.name} (weights ${classifier.baseModel.sha256.slice(0, 12)}…), which this project does not have: add that model first`,
        );
      const model = await this.loadModel(base.folder);
      return classifyImages(
        classifier,
        model,
        images.map((i) => path.resolve(i)),
        { ctx },
      );
    });
  }

  // ---------- jobs and host ----------

  listJobs(): ResultOf<'listJobs'> {
    return this.jobs.list();
  }

  cancelJob({ jobId }: ParamsOf<'cancelJob'>): ResultOf<'cancelJob'> {
    return { cancelled: this.jobs.cancel(jobId) };
  }

  async pickPath(_p: ParamsOf<'pickPath'>): Promise<ResultOf<'pickPath'>> {
    // Only a host with native dialogs (Electron) overrides this.
    return { supported: false, path: null };
  }

  // ---------- for adapters, outside the contract ----------

  /** Where the engine keeps an image's thumbnail; adapters check it with resolveThumbnail. */
  async thumbnailCandidate(imageId: number): Promise<string | null> {
    const store = this.project?.store;
    if (!store?.thumbnailDir) return null;
    try {
      return thumbnailFile(store.thumbnailDir, store.getImage(imageId).sha256);
    } catch {
      return null; // unknown id
    }
  }

  /** Folders whose files adapters may serve: the open project's thumbnail folder. */
  allowedRoots(): string[] {
    const dir = this.project?.store.thumbnailDir;
    return dir ? [dir] : [];
  }

  async close(): Promise<void> {
    this.jobs.cancelAll();
    this.loaded?.model.dispose();
    this.loaded = null;
    this.project?.store.close();
    this.project = null;
  }

  // ---------- internals ----------

  private async open(file: string, opts: { allowRunning?: boolean } = {}): Promise<ProjectSummary> {
    if (!opts.allowRunning && this.jobs.running().length > 0) throw new Error('wait for the running jobs to finish (or cancel them) before switching projects');
    const store = ProjectStore.open(file);
    this.project?.store.close();
    const datasets = store.listDatasets();
    const models = store.listModels();
    this.project = { store, datasetId: datasets[0]?.id ?? null, modelId: models.at(-1)?.id ?? null, shots: null };
    const summary = this.summary()!;
    await this.rememberProject(summary);
    this.changed('project');
    return summary;
  }

  /** The K training shots last drawn on the Dataset page. */
  private shotIds(p: OpenProject): Set<number> {
    const ids = new Set<number>();
    if (p.shots && p.datasetId !== null) {
      try {
        for (const c of selectShots(p.store, p.datasetId, p.shots).classes) for (const id of c.imageIds) ids.add(id);
      } catch {
        // Edits since the draw left a class with fewer than K images: no shots to mark.
      }
    }
    return ids;
  }

  private summary(): ProjectSummary | null {
    const p = this.project;
    if (!p) return null;
    const dataset = p.datasetId === null ? null : p.store.getDataset(p.datasetId);
    const counts = p.datasetId === null ? [] : classCounts(p.store, p.datasetId);
    return {
      dbPath: p.store.file,
      name: path.basename(p.store.file).replace(/(\.lamm)?\.(sqlite|db)$/i, ''),
      dataFolder: dataset?.root ?? null,
      classCount: counts.length,
      imageCount: counts.reduce((s, c) => s + c.total, 0),
      modelId: p.modelId,
    };
  }

  private changed(what: 'project' | 'classes' | 'images' | 'models' | 'runs'): void {
    this.hub.emit('project:changed', { what, project: this.summary() });
  }

  private requireProject(): OpenProject {
    if (!this.project) throw new Error('no project is open: create or open one on the Projects page');
    return this.project;
  }

  private requireDataset(p: OpenProject): number {
    if (p.datasetId === null) throw new Error('the project has no images yet: import a folder on the Dataset page');
    return p.datasetId;
  }

  /** The project's chosen model, loaded (and kept loaded) on first use. */
  private async model(p: OpenProject): Promise<ClipModel> {
    if (p.modelId === null) throw new Error('no model in this project yet: add one on the Model page');
    return this.loadModel(p.store.getModel(p.modelId).folder);
  }

  private async modelForRun(p: OpenProject, runId: number): Promise<ClipModel> {
    const { modelId } = p.store.getRun(runId);
    if (modelId === null) throw new Error(`run ${runId} has no model recorded`);
    return this.loadModel(p.store.getModel(modelId).folder);
  }

  /** One model is kept in memory; loading another frees the previous one. */
  private async loadModel(folder: string): Promise<ClipModel> {
    if (this.loaded?.folder === folder) return this.loaded.model;
    if (!this.backend) {
      this.backend = describeBackend(await initBackend());
      this.hub.emit('status:backend', { backend: this.backend });
    }
    const model = await loadClip(folder);
    this.loaded?.model.dispose();
    this.loaded = { folder, sha256: model.weightsSha256, model };
    return model;
  }

  private recentFile(): string {
    return path.join(this.opts.stateDir, 'recent-projects.json');
  }

  private async rememberProject(p: ProjectSummary): Promise<void> {
    const file = this.recentFile();
    const list = (await readRecent(file)).filter((r) => r.dbPath !== p.dbPath);
    list.unshift({ dbPath: p.dbPath, name: p.name, openedAt: new Date().toISOString() });
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, JSON.stringify(list.slice(0, RECENT_LIMIT), null, 2));
  }
}

function modelInfo(m: ModelRecord): ModelInfo {
  const c = m.config as {
    projectionDim?: number;
    vision?: { patchSize?: number; hiddenSize?: number; numLayers?: number; imageSize?: number };
    text?: { hiddenSize?: number; numLayers?: number };
  };
  const v = c.vision;
  const summary = v ? `ViT patch ${v.patchSize} @ ${v.imageSize}px · ${c.projectionDim}-d features` : `${c.projectionDim ?? '?'}-d features`;
  const name = m.folder === DEMO_MODEL_DIR ? 'demo CLIP (bundled)' : path.basename(m.folder);
  return { id: m.id, folder: m.folder, name, sha256: m.weightsSha256, summary };
}

function runSummary(r: RunRecord): RunSummary {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    createdAt: r.createdAt,
    backend: r.backend,
    modelId: r.modelId,
    accuracy: r.metrics?.accuracy ?? null,
    config: (r.config ?? {}) as RunSummary['config'],
  };
}

async function readRecent(file: string): Promise<RecentProject[]> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8'));
    return Array.isArray(parsed) ? parsed.filter((r) => typeof r?.dbPath === 'string') : [];
  } catch {
    return []; // no file yet, or a damaged one: start a fresh list
  }
}

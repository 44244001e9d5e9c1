// The contract implemented over the engine. One instance per open window / server. It holds the
// open project, runs long work as jobs, and turns engine results into the contract's plain
// shapes. No engine logic lives here: every method is a call into src-main/{clip,data,lamm,
// export,jobs} plus bookkeeping.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type {
  AppStatus,
  LammHandlers,
  ParamsOf,
  ProjectSummary,
  RecentProject,
  ResultOf,
} from './contract';
import { EventHub } from './rpc';
import { JobRegistry } from './jobs';
import { PINNED_MODELS } from './model-download';
import { DEFAULT_TRAIN_CONFIG } from '../lamm/config';

export interface ServiceOptions {
  host: AppStatus['host'];
  /** Where app state that is not part of a project lives (recent projects). */
  stateDir: string;
  version: string;
}

const RECENT_LIMIT = 12;

/** A contract method whose engine piece has not landed yet: a clear error, never a fake result. */
function notAvailable(what: string): never {
  throw new Error(`${what} is not available yet in this build`);
}

export class LammService implements LammHandlers {
  readonly hub = new EventHub();
  readonly jobs = new JobRegistry(this.hub);
  private project: ProjectSummary | null = null;
  private backend: string | null = null;

  constructor(private readonly opts: ServiceOptions) {}

  // ---------- app ----------

  getStatus(): AppStatus {
    return { version: this.opts.version, backend: this.backend, host: this.opts.host, project: this.project, jobs: this.jobs.list() };
  }

  async listRecentProjects(): Promise<RecentProject[]> {
    return readRecent(this.recentFile());
  }

  // ---------- projects ----------

  async createProject(_p: ParamsOf<'createProject'>): Promise<ResultOf<'createProject'>> {
    return notAvailable('creating a project (data store)');
  }

  async openProject(_p: ParamsOf<'openProject'>): Promise<ResultOf<'openProject'>> {
    return notAvailable('opening a project (data store)');
  }

  openDemo(): ResultOf<'openDemo'> {
    return notAvailable('the demo project');
  }

  // ---------- dataset and curation ----------

  importFolder(_p: ParamsOf<'importFolder'>): ResultOf<'importFolder'> {
    return notAvailable('folder import');
  }

  listClasses(): ResultOf<'listClasses'> {
    this.requireProject();
    return notAvailable('the class table');
  }

  renameClass(_p: ParamsOf<'renameClass'>): ResultOf<'renameClass'> {
    this.requireProject();
    return notAvailable('renaming prompt names');
  }

  makeSplit(_p: ParamsOf<'makeSplit'>): ResultOf<'makeSplit'> {
    this.requireProject();
    return notAvailable('few-shot splits');
  }

  listImages(): ResultOf<'listImages'> {
    this.requireProject();
    return notAvailable('the image list');
  }

  updateImages(_p: ParamsOf<'updateImages'>): ResultOf<'updateImages'> {
    this.requireProject();
    return notAvailable('excluding and relabelling images');
  }

  findDuplicates(_p: ParamsOf<'findDuplicates'>): ResultOf<'findDuplicates'> {
    this.requireProject();
    return notAvailable('duplicate search');
  }

  findMislabels(): ResultOf<'findMislabels'> {
    this.requireProject();
    return notAvailable('likely-mislabel search');
  }

  searchImages(_p: ParamsOf<'searchImages'>): ResultOf<'searchImages'> {
    this.requireProject();
    return notAvailable('text search');
  }

  // ---------- models ----------

  listModels(): ResultOf<'listModels'> {
    if (!this.project) return [];
    return notAvailable('the model list');
  }

  addModel(_p: ParamsOf<'addModel'>): ResultOf<'addModel'> {
    this.requireProject();
    return notAvailable('adding a model');
  }

  selectModel(_p: ParamsOf<'selectModel'>): ResultOf<'selectModel'> {
    this.requireProject();
    return notAvailable('choosing a model');
  }

  listDownloadableModels(): ResultOf<'listDownloadableModels'> {
    return PINNED_MODELS.map((m) => ({ repo: m.repo, revision: m.revision, title: m.title, sizeBytes: m.approxBytes }));
  }

  downloadModel(_p: ParamsOf<'downloadModel'>): ResultOf<'downloadModel'> {
    return notAvailable('model download');
  }

  // ---------- runs ----------

  getTrainDefaults(): ResultOf<'getTrainDefaults'> {
    return structuredClone(DEFAULT_TRAIN_CONFIG);
  }

  startZeroShot(_p: ParamsOf<'startZeroShot'>): ResultOf<'startZeroShot'> {
    this.requireProject();
    return notAvailable('zero-shot evaluation');
  }

  startTraining(_p: ParamsOf<'startTraining'>): ResultOf<'startTraining'> {
    this.requireProject();
    return notAvailable('training');
  }

  listRuns(): ResultOf<'listRuns'> {
    if (!this.project) return [];
    return notAvailable('the run list');
  }

  getRun(_p: ParamsOf<'getRun'>): ResultOf<'getRun'> {
    this.requireProject();
    return notAvailable('run details');
  }

  getNeighbours(_p: ParamsOf<'getNeighbours'>): ResultOf<'getNeighbours'> {
    this.requireProject();
    return notAvailable('token neighbours');
  }

  compareRuns(_p: ParamsOf<'compareRuns'>): ResultOf<'compareRuns'> {
    this.requireProject();
    return notAvailable('run comparison');
  }

  exportRun(_p: ParamsOf<'exportRun'>): ResultOf<'exportRun'> {
    this.requireProject();
    return notAvailable('export');
  }

  classifyImages(_p: ParamsOf<'classifyImages'>): ResultOf<'classifyImages'> {
    return notAvailable('classifying with an export');
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
  async thumbnailCandidate(_imageId: number): Promise<string | null> {
    if (!this.project) return null;
    return null;
  }

  /** Folders whose files adapters may serve: the open project's. */
  allowedRoots(): string[] {
    return this.project ? [path.dirname(this.project.dbPath)] : [];
  }

  async close(): Promise<void> {
    this.jobs.cancelAll();
  }

  // ---------- internals ----------

  private requireProject(): ProjectSummary {
    if (!this.project) throw new Error('no project is open: create or open one on the Projects page');
    return this.project;
  }

  private recentFile(): string {
    return path.join(this.opts.stateDir, 'recent-projects.json');
  }

  protected async rememberProject(p: ProjectSummary): Promise<void> {
    const file = this.recentFile();
    const list = (await readRecent(file)).filter((r) => r.dbPath !== p.dbPath);
    list.unshift({ dbPath: p.dbPath, name: p.name, openedAt: new Date().toISOString() });
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, JSON.stringify(list.slice(0, RECENT_LIMIT), null, 2));
  }
}

async function readRecent(file: string): Promise<RecentProject[]> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8'));
    return Array.isArray(parsed) ? parsed.filter((r) => typeof r?.dbPath === 'string') : [];
  } catch {
    return []; // no file yet, or a damaged one: start a fresh list
  }
}

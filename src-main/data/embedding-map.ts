// The embedding map: every image's cached view-0 features projected to 2-D (PCA at once, UMAP
// as a job), cached per model, dataset and projection under a key of the image set, and each
// class's zero-shot text feature and, for a chosen trained run, its learned text feature
// placed among the images (projection.ts says why they are placed rather than fitted).
import crypto from 'node:crypto';
import { CancelledError, silentContext, throwIfCancelled, type JobContext } from '../jobs/context';
import type { ClipModel } from '../clip/types';
import { DEFAULT_TEMPLATE } from '../lamm/config';
import { normaliseRows } from '../lamm/evaluate';
import { zeroShotTextFeatures } from '../lamm/zeroshot';
import { featureCacheKey, featuresFor, loadFeatures } from './features';
import { getRunTensor } from './run-tensors';
import { DEFAULT_UMAP, placeAmongImages, UMAP_MIN_POINTS, type UmapParams } from './projection';
import { runOffThread } from '../jobs/compute';
import type { ProjectStore, SplitName } from './store';
import type { MapProjection } from './map-projections';

export { MAP_PROJECTIONS, type MapProjection } from './map-projections';

/** Bump when projection code changes what it computes: older cached maps are then recomputed. */
const MAP_VERSION = 1;

export interface MapPoint {
  id: number;
  x: number;
  y: number;
  classId: number;
  split: SplitName;
  /** Among the K training shots last drawn (what a run with that K and seed trains on). */
  isShot: boolean;
  excluded: boolean;
}

export interface MapLabel {
  classId: number;
  folder: string;
  promptName: string;
  zeroShot: [number, number];
  /** Where the chosen run's learned text feature lands; null without a run or for a class it did not train. */
  learned: [number, number] | null;
}

export interface EmbeddingMap {
  projection: MapProjection;
  modelId: number;
  runId: number | null;
  /** The coordinates came from the cache (no projection computed). */
  cached: boolean;
  points: MapPoint[];
  labels: MapLabel[];
  /** Images left out because they would not decode. */
  failed: number;
  seconds: number;
}

export interface EmbeddingMapOptions {
  projection: MapProjection;
  /** A finished trained run whose learned text features are drawn. */
  runId?: number | null;
  shotIds?: ReadonlySet<number>;
  umap?: Partial<UmapParams>;
}

/** The map of every present image of the dataset (excluded ones too, marked), computing missing features first. */
export async function buildEmbeddingMap(
  store: ProjectStore,
  model: ClipModel,
  datasetId: number,
  opts: EmbeddingMapOptions,
  ctx?: JobContext,
): Promise<EmbeddingMap> {
  const started = Date.now();
  const all = store.listImages(datasetId, { includeExcluded: true });
  if (all.length === 0) throw new Error('the dataset has no images to map');
  const { summary: features, present: images } = await featuresFor(store, model, all, ctx);
  throwIfCancelled(ctx);
  if (images.length === 0) throw new Error('none of the images could be decoded');
  const ids = images.map((i) => i.id);
  const p = model.config.projectionDim;
  const x = loadFeatures(store, features.modelId, ids, 0, { normalize: true });

  const umap = { ...DEFAULT_UMAP, ...opts.umap };
  // Too few points for a neighbourhood: the UMAP map is the PCA one (said by `projection`).
  const projection: MapProjection = opts.projection === 'umap' && images.length < UMAP_MIN_POINTS ? 'pca' : opts.projection;
  const key = cacheKey(
    featureCacheKey(model),
    projection,
    umap,
    images.map((i) => `${i.id}:${i.sha256}`),
  );
  let coords = readCachedMap(store, features.modelId, datasetId, projection, key, ids);
  const cached = coords !== null;
  if (!coords) {
    // Off the service's thread (jobs/compute.ts); x is copied there, the labels below need it here.
    const context = ctx ?? silentContext();
    coords =
      projection === 'pca'
        ? await runOffThread('pca', { x, n: ids.length, p, seed: umap.seed }, context)
        : await runOffThread('umap', { x, n: ids.length, p, params: umap }, context);
    throwIfCancelled(ctx);
    writeCachedMap(store, features.modelId, datasetId, projection, key, ids, coords);
  }

  const labels = await labelPoints(store, model, datasetId, opts.runId ?? null, x, ids.length, p, coords, ctx);
  const shots = opts.shotIds ?? new Set<number>();
  return {
    projection,
    modelId: features.modelId,
    runId: opts.runId ?? null,
    cached,
    points: images.map((img, i) => ({
      id: img.id,
      x: coords[i * 2],
      y: coords[i * 2 + 1],
      classId: img.classId,
      split: img.split,
      isShot: shots.has(img.id),
      excluded: img.excluded,
    })),
    labels,
    failed: features.failed.length,
    seconds: (Date.now() - started) / 1000,
  };
}

/** Zero-shot (the run's own when it stored them, else the model's with the run's template) and learned label points. */
async function labelPoints(
  store: ProjectStore,
  model: ClipModel,
  datasetId: number,
  runId: number | null,
  x: Float32Array,
  n: number,
  p: number,
  coords: Float32Array,
  ctx?: JobContext,
): Promise<MapLabel[]> {
  const classes = store.listClasses(datasetId);
  let template = DEFAULT_TEMPLATE;
  const learned = new Map<number, Float32Array>();
  const runZeroShot = new Map<number, Float32Array>();
  if (runId !== null) {
    const run = store.getRun(runId);
    if (run.kind === 'zeroshot') throw new Error(`run ${runId} is a zero-shot run; choose a trained run to draw its learned labels`);
    if (run.status !== 'done') throw new Error(`run ${runId} is ${run.status}, not finished`);
    // The run's text features live in its own model's space; another model's images would misplace them.
    const own = run.modelId === null ? null : store.getModel(run.modelId);
    if (own && own.weightsSha256 !== model.weightsSha256)
      throw new Error(`run ${runId} was trained with ${own.folder}, not the project's current model: select that model to map it`);
    template = (run.config as { setup?: { template?: string } }).setup?.template ?? DEFAULT_TEMPLATE;
    const runClasses = store.getRunClasses(runId);
    const text = getRunTensor(store, runId, 'text_features');
    if (!text || text.shape[0] !== runClasses.length || text.shape[1] !== p) throw new Error(`run ${runId} has no stored text features of width ${p}`);
    const zero = getRunTensor(store, runId, 'zero_shot_features');
    runClasses.forEach((c, k) => {
      learned.set(c.classId, normaliseRows(text.data.slice(k * p, (k + 1) * p), p));
      if (zero && zero.shape[0] === runClasses.length && zero.shape[1] === p) runZeroShot.set(c.classId, normaliseRows(zero.data.slice(k * p, (k + 1) * p), p));
    });
  }
  const needZero = classes.filter((c) => !runZeroShot.has(c.id));
  const computed = needZero.length
    ? await zeroShotTextFeatures(
        model,
        needZero.map((c) => c.promptName),
        [template],
        ctx,
      )
    : new Float32Array(0);
  if (ctx?.signal.aborted) throw new CancelledError();
  const zeroRows = new Float32Array(classes.length * p);
  const learnedRows: Float32Array[] = [];
  const learnedOf: number[] = [];
  let next = 0;
  classes.forEach((c, k) => {
    zeroRows.set(runZeroShot.get(c.id) ?? computed.subarray(next * p, (next++ + 1) * p), k * p);
    const l = learned.get(c.id);
    if (l) {
      learnedOf.push(k);
      learnedRows.push(l);
    }
  });
  const zeroXY = placeAmongImages(x, n, p, coords, zeroRows);
  const learnedFlat = new Float32Array(learnedRows.length * p);
  learnedRows.forEach((r, j) => learnedFlat.set(r, j * p));
  const learnedXY = placeAmongImages(x, n, p, coords, learnedFlat);
  const learnedAt = new Map(learnedOf.map((k, j) => [k, [learnedXY[j * 2], learnedXY[j * 2 + 1]] as [number, number]]));
  return classes.map((c, k) => ({
    classId: c.id,
    folder: c.folder,
    promptName: c.promptName,
    zeroShot: [zeroXY[k * 2], zeroXY[k * 2 + 1]],
    learned: learnedAt.get(k) ?? null,
  }));
}

function cacheKey(features: string, projection: MapProjection, umap: UmapParams, images: string[]): string {
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify({ v: MAP_VERSION, features, projection, params: projection === 'umap' ? umap : { seed: umap.seed } }));
  for (const s of images) h.update(`${s}\n`);
  return h.digest('hex');
}

function readCachedMap(store: ProjectStore, modelId: number, datasetId: number, projection: MapProjection, key: string, ids: number[]): Float32Array | null {
  const row = store
    .stmt('SELECT cache_key, image_ids, coords FROM embedding_maps WHERE model_id = ? AND dataset_id = ? AND projection = ?')
    .get(modelId, datasetId, projection) as { cache_key: string; image_ids: Buffer; coords: Buffer } | undefined;
  if (!row || row.cache_key !== key) return null;
  const storedIds = new Int32Array(row.image_ids.byteLength / 4);
  new Uint8Array(storedIds.buffer).set(row.image_ids);
  const coords = new Float32Array(row.coords.byteLength / 4);
  new Uint8Array(coords.buffer).set(row.coords);
  // The key covers the ids; a row written in another order (or damaged) is recomputed, never misread.
  if (storedIds.length !== ids.length || coords.length !== ids.length * 2 || ids.some((id, i) => storedIds[i] !== id)) return null;
  return coords;
}

function writeCachedMap(
  store: ProjectStore,
  modelId: number,
  datasetId: number,
  projection: MapProjection,
  key: string,
  ids: number[],
  coords: Float32Array,
): void {
  const idBlob = Buffer.from(Int32Array.from(ids).buffer);
  const coordBlob = Buffer.from(coords.buffer, coords.byteOffset, coords.byteLength);
  store.write(() =>
    store
      .stmt(`INSERT OR REPLACE INTO embedding_maps (model_id, dataset_id, projection, cache_key, image_ids, coords, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)`)
      .run(modelId, datasetId, projection, key, idBlob, coordBlob, Date.now()),
  );
}

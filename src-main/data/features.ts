// The image-feature cache: per image, model and view, the projected (unnormalised) CLIP
// image features as float32 blobs. View 0 is the plain preprocessed image; views 1..V-1 are
// seeded RandomResizedCrop + flip (clip/augment.ts), seeded by the image's content hash, so a
// view is the same pixels whichever run, project or path asks for it. Features are computed
// once and reused by every run; registering a model whose weights (or preprocessing) changed
// drops its old features (store.registerModel).
import crypto from 'node:crypto';
import { embedPixels, IMAGE_BATCH, normalizeRow } from '../clip';
import { augmentedView } from '../clip/augment';
import { preshrinkEdge, withDecodedImage } from '../clip/preprocess';
import { deriveSeed } from '../clip/random';
import type { ClipModel } from '../clip/types';
import { throwIfCancelled, type JobContext } from '../jobs/context';
import { blobToFloats, floatsToBlob } from './db';
import { FILE_CONCURRENCY, forEachLimited } from './pool';
import type { ModelRecord, ProjectStore } from './store';
import { firstLine } from '../errors';

/** Bump when the way views are made changes: every cache made by older code is then recomputed. */
const VIEW_RECIPE_VERSION = 1;

/** What cached features depend on besides the image: the weights, the preprocessing and the view recipe. */
export function featureCacheKey(model: ClipModel): string {
  const recipe = JSON.stringify({ weights: model.weightsSha256, preprocess: model.preprocess, views: VIEW_RECIPE_VERSION });
  return crypto.createHash('sha256').update(recipe).digest('hex');
}

/** Records the model in the project (dropping features made with other weights); returns its row. */
export function registerClipModel(store: ProjectStore, model: ClipModel): ModelRecord {
  return store.registerModel({ folder: model.folder, weightsSha256: model.weightsSha256, cacheKey: featureCacheKey(model), config: model.config });
}

/** The augmentation seed of an image: from its content, so moves and copies share views. */
export function viewSeed(sha256: string): number {
  return deriveSeed('views', sha256);
}

export interface FeatureOptions {
  /** The images to cover; default: every present, non-excluded image of `datasetId`. */
  imageIds?: number[];
  datasetId?: number;
  /** Views per image, view 0 included (default 1). */
  views?: number;
  /** Views per image-encoder call. */
  batchSize?: number;
  /** Runs the image encoder elsewhere (Electron's GPU host page); default: `model` on this thread's backend. */
  embed?(pixels: Float32Array[]): Promise<Float32Array[]>;
}

export interface FeatureSummary {
  modelId: number;
  views: number;
  /** Features computed now, and found in the cache. */
  computed: number;
  cached: number;
  /** Images that would not decode (they get no features and are left out downstream). */
  failed: { imageId: number; path: string; reason: string }[];
  seconds: number;
}

interface Pending {
  imageId: number;
  path: string;
  file: string;
  sha256: string;
  views: number[];
}

interface Prepared {
  rows: { imageId: number; view: number; pixels: Float32Array }[];
  failed: FeatureSummary['failed'];
}

/**
 * Fills the cache for the given images and views in batches, with progress; cancellable
 * between batches, and everything written before a cancel stays valid. Decoding the next
 * batch overlaps encoding this one. Memory stays flat: each image is decoded, cut into its
 * views and dropped before the next is read.
 */
export async function computeFeatures(store: ProjectStore, model: ClipModel, opts: FeatureOptions, ctx?: JobContext): Promise<FeatureSummary> {
  const started = Date.now();
  const record = registerClipModel(store, model);
  const views = opts.views ?? 1;
  if (!Number.isInteger(views) || views < 1) throw new Error(`views must be a positive integer, got ${views}`);
  const batchSize = opts.batchSize ?? IMAGE_BATCH;
  const imageIds = opts.imageIds ?? (opts.datasetId !== undefined ? store.listImages(opts.datasetId).map((i) => i.id) : null);
  if (!imageIds) throw new Error('computeFeatures needs imageIds or a datasetId');

  const have = new Set(
    (store.stmt('SELECT image_id, view FROM features WHERE model_id = ? AND view < ?').all(record.id, views) as { image_id: number; view: number }[]).map(
      (r) => `${r.image_id}:${r.view}`,
    ),
  );
  const todo: Pending[] = [];
  let cached = 0;
  for (const id of new Set(imageIds)) {
    const missing = [];
    for (let v = 0; v < views; v++) {
      if (have.has(`${id}:${v}`)) cached++;
      else missing.push(v);
    }
    if (missing.length === 0) continue;
    const image = store.getImage(id);
    todo.push({ imageId: id, path: image.path, file: store.imageFile(image), sha256: image.sha256, views: missing });
  }
  const total = todo.reduce((n, p) => n + p.views.length, 0);
  const summary: FeatureSummary = { modelId: record.id, views, computed: 0, cached, failed: [], seconds: 0 };
  ctx?.progress({ stage: 'features', done: 0, total });

  const chunks = chunkByViews(todo, batchSize);
  const insert = store.stmt('INSERT OR REPLACE INTO features (model_id, view, image_id, data) VALUES (?, ?, ?, ?)');
  let next: Promise<Prepared> | null = chunks.length ? prepare(chunks[0], model, ctx) : null;
  for (let i = 0; i < chunks.length; i++) {
    const ready = await next!;
    next = i + 1 < chunks.length ? prepare(chunks[i + 1], model, ctx) : null;
    next?.catch(() => {}); // its failure surfaces when awaited; never as an unhandled rejection
    throwIfCancelled(ctx);
    summary.failed.push(...ready.failed);
    for (let start = 0; start < ready.rows.length; start += batchSize) {
      const rows = ready.rows.slice(start, start + batchSize);
      const pixels = rows.map((r) => r.pixels);
      const features = await (opts.embed ? opts.embed(pixels) : embedPixels(model, pixels));
      store.write(() => rows.forEach((r, k) => insert.run(record.id, r.view, r.imageId, floatsToBlob(features[k]))));
      summary.computed += rows.length;
      ctx?.progress({ stage: 'features', done: summary.computed, total });
    }
  }
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

/** Groups images so each group holds about `batchSize` views. */
function chunkByViews(todo: Pending[], batchSize: number): Pending[][] {
  const chunks: Pending[][] = [];
  let current: Pending[] = [];
  let count = 0;
  for (const p of todo) {
    current.push(p);
    count += p.views.length;
    if (count >= batchSize) {
      chunks.push(current);
      current = [];
      count = 0;
    }
  }
  if (current.length) chunks.push(current);
  return chunks;
}

async function prepare(chunk: Pending[], model: ClipModel, ctx?: JobContext): Promise<Prepared> {
  const out: Prepared = { rows: [], failed: [] };
  await forEachLimited(chunk, FILE_CONCURRENCY, ctx, async (p) => {
    const seed = viewSeed(p.sha256);
    let decoded = false;
    try {
      // The views are cut while the decode's slot is held: a large raster counts until it is dropped.
      out.rows.push(
        ...(await withDecodedImage(
          p.file,
          (img) => {
            decoded = true;
            return p.views.map((view) => ({ imageId: p.imageId, view, pixels: augmentedView(img, model.preprocess, seed, view) }));
          },
          { shortEdge: preshrinkEdge(model.preprocess) },
        )),
      );
    } catch (err) {
      if (decoded) throw err; // our bug, not a bad file
      out.failed.push({ imageId: p.imageId, path: p.path, reason: firstLine(err) });
    }
  });
  return out;
}

/**
 * Cached features of `imageIds` for one view as a flat [N, P] array, in the order given
 * (L2-normalised rows with `normalize`). Throws when any is missing: compute them first.
 */
export function loadFeatures(store: ProjectStore, modelId: number, imageIds: readonly number[], view = 0, opts: { normalize?: boolean } = {}): Float32Array {
  const get = store.stmt('SELECT data FROM features WHERE model_id = ? AND view = ? AND image_id = ?');
  let out: Float32Array | null = null;
  let width = 0;
  imageIds.forEach((id, i) => {
    const row = get.get(modelId, view, id) as { data: Buffer } | undefined;
    if (!row) throw new Error(`image ${id} has no cached features for model ${modelId}, view ${view}: compute features first`);
    const f = blobToFloats(row.data);
    if (!out) {
      width = f.length;
      out = new Float32Array(imageIds.length * width);
    } else if (f.length !== width) {
      throw new Error(`cached features of image ${id} have ${f.length} values, expected ${width}`);
    }
    if (opts.normalize) normalizeRow(f);
    out.set(f, i * width);
  });
  return out ?? new Float32Array(0);
}

/**
 * computeFeatures for `images` (`views` of each), then those of them that have their view-0
 * feature, in the order given: the images that would not decode drop out here.
 */
export async function featuresFor<T extends { id: number }>(
  store: ProjectStore,
  model: ClipModel,
  images: readonly T[],
  ctx?: JobContext,
  views = 1,
): Promise<{ summary: FeatureSummary; present: T[] }> {
  const ids = images.map((i) => i.id);
  const summary = await computeFeatures(store, model, { imageIds: ids, views }, ctx);
  const has = new Set(imagesWithFeatures(store, summary.modelId, ids));
  return { summary, present: images.filter((i) => has.has(i.id)) };
}

/** Which of `imageIds` have view `view` cached for the model. */
export function imagesWithFeatures(store: ProjectStore, modelId: number, imageIds: readonly number[], view = 0): number[] {
  const has = store.stmt('SELECT 1 FROM features WHERE model_id = ? AND view = ? AND image_id = ?');
  return imageIds.filter((id) => has.get(modelId, view, id) !== undefined);
}

// 2-D projections of L2-normalised feature rows for the embedding map: PCA (deterministic,
// fast enough to show at once) and UMAP (umap-js, seeded, cancellable between epochs), both
// scaled into [-1, 1] with the aspect kept; and the placement of extra points (label text
// features) among the projected images. Plain JS, no tensors.
import { UMAP } from 'umap-js';
import { mulberry32 } from '../clip/random';
import { throwIfCancelled, type JobContext } from '../jobs/context';

/** PCA axes are fitted on at most this many rows (a seeded sample); every row is then projected. */
const PCA_FIT_ROWS = 5000;
const PCA_ITERATIONS = 200;

export interface UmapParams {
  nNeighbors: number;
  minDist: number;
  nEpochs: number;
  seed: number;
}

export const DEFAULT_UMAP: UmapParams = { nNeighbors: 15, minDist: 0.1, nEpochs: 200, seed: 1 };
/** UMAP needs a neighbourhood; below this many points the map is PCA's. */
export const UMAP_MIN_POINTS = 4;

/** Top-2 principal components of the rows by power iteration with deflation; [N, 2] flat, scaled to [-1, 1]. */
export function pcaProject(x: Float32Array, n: number, p: number, seed = 1): Float32Array {
  const mean = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let d = 0; d < p; d++) mean[d] += x[i * p + d];
  for (let d = 0; d < p; d++) mean[d] /= Math.max(1, n);
  const rand = mulberry32(seed);
  const fit = n <= PCA_FIT_ROWS ? Array.from({ length: n }, (_, i) => i) : sampleRows(n, PCA_FIT_ROWS, rand);
  const axes: Float64Array[] = [];
  for (let c = 0; c < 2; c++) {
    let v = Float64Array.from({ length: p }, () => rand() - 0.5);
    normalise(v);
    for (let it = 0; it < PCA_ITERATIONS; it++) {
      const next = new Float64Array(p);
      for (const i of fit) {
        let dot = 0;
        for (let d = 0; d < p; d++) dot += (x[i * p + d] - mean[d]) * v[d];
        for (let d = 0; d < p; d++) next[d] += dot * (x[i * p + d] - mean[d]);
      }
      for (const a of axes) {
        const proj = dotOf(next, a);
        for (let d = 0; d < p; d++) next[d] -= proj * a[d];
      }
      if (normalise(next) === 0) break; // no variance left in this direction
      const change = 1 - Math.abs(dotOf(next, v));
      v = next;
      if (change < 1e-10) break;
    }
    // A fixed sign: the axis's largest entry is positive, so reruns and other seeds agree.
    let big = 0;
    for (let d = 1; d < p; d++) if (Math.abs(v[d]) > Math.abs(v[big])) big = d;
    if (v[big] < 0) for (let d = 0; d < p; d++) v[d] = -v[d];
    axes.push(v);
  }
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 2; c++) {
      let s = 0;
      for (let d = 0; d < p; d++) s += (x[i * p + d] - mean[d]) * axes[c][d];
      out[i * 2 + c] = s;
    }
  }
  return scaleToUnit(out);
}

/**
 * UMAP of the rows (euclidean on normalised rows, which orders neighbours as cosine does),
 * seeded so the same input gives the same map; progress per epoch, cancel between epochs.
 * The nearest-neighbour step runs in one piece before the first epoch.
 */
export async function umapProject(x: Float32Array, n: number, p: number, params: UmapParams = DEFAULT_UMAP, ctx?: JobContext): Promise<Float32Array> {
  if (n < UMAP_MIN_POINTS) throw new Error(`UMAP needs at least ${UMAP_MIN_POINTS} images with features, got ${n}`);
  const rows: number[][] = Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * p, (i + 1) * p)));
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(params.nNeighbors, n - 1),
    minDist: params.minDist,
    nEpochs: params.nEpochs,
    random: mulberry32(params.seed),
  });
  ctx?.progress({ stage: 'neighbours', done: 0, total: 1 });
  await yieldToEvents();
  throwIfCancelled(ctx);
  const epochs = umap.initializeFit(rows);
  ctx?.progress({ stage: 'umap', done: 0, total: epochs });
  for (let e = 0; e < epochs; e++) {
    umap.step();
    if (e % 5 === 4 || e === epochs - 1) {
      ctx?.progress({ stage: 'umap', done: e + 1, total: epochs });
      await yieldToEvents();
      throwIfCancelled(ctx);
    }
  }
  const embedding = umap.getEmbedding();
  const out = new Float32Array(n * 2);
  embedding.forEach((row, i) => {
    out[i * 2] = row[0];
    out[i * 2 + 1] = row[1];
  });
  return scaleToUnit(out);
}

/**
 * Where each query row (a label's text feature) goes on the images' map: the weighted mean
 * of the map positions of its k most cosine-similar images, weights falling off with distance
 * from the nearest as in UMAP's own placement of new points (umap-js `initTransform`).
 * Why not fit UMAP (or PCA) on images and labels together: CLIP's text and image features
 * lie on two separate cones (the modality gap), so a joint fit puts every label in a text
 * island of its own, far from all images, and its position says nothing about which images
 * the label picks. Placed among its nearest images, a label sits where it classifies, and the
 * arrow zero-shot → learned shows which images LAMM moved it towards. Rows are normalised.
 */
export function placeAmongImages(images: Float32Array, n: number, p: number, coords: Float32Array, queries: Float32Array, k = 15): Float32Array {
  const q = queries.length / p;
  const out = new Float32Array(q * 2);
  const kk = Math.min(k, n);
  if (kk === 0) return out.fill(Number.NaN);
  const sims = new Float32Array(n);
  for (let j = 0; j < q; j++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let d = 0; d < p; d++) s += images[i * p + d] * queries[j * p + d];
      sims[i] = s;
    }
    const top = topK(sims, kk);
    const dist = top.map((i) => 1 - sims[i]);
    const nearest = dist[0];
    const sigma = Math.max(1e-6, dist.reduce((a, d) => a + (d - nearest), 0) / kk);
    let wSum = 0;
    let px = 0;
    let py = 0;
    top.forEach((i, r) => {
      const w = Math.exp(-(dist[r] - nearest) / sigma);
      wSum += w;
      px += w * coords[i * 2];
      py += w * coords[i * 2 + 1];
    });
    out[j * 2] = px / wSum;
    out[j * 2 + 1] = py / wSum;
  }
  return out;
}

/** Centres the points and scales them so the larger extent spans [-1, 1] (what the renderer draws). */
export function scaleToUnit(xy: Float32Array): Float32Array {
  const n = xy.length / 2;
  if (n === 0) return xy;
  let minX = Infinity,
    maxX = -Infinity,
    minY = Infinity,
    maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    minX = Math.min(minX, xy[i * 2]);
    maxX = Math.max(maxX, xy[i * 2]);
    minY = Math.min(minY, xy[i * 2 + 1]);
    maxY = Math.max(maxY, xy[i * 2 + 1]);
  }
  const half = Math.max(maxX - minX, maxY - minY) / 2 || 1;
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  for (let i = 0; i < n; i++) {
    xy[i * 2] = (xy[i * 2] - cx) / half;
    xy[i * 2 + 1] = (xy[i * 2 + 1] - cy) / half;
  }
  return xy;
}

function topK(values: Float32Array, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (idx.length < k) {
      idx.push(i);
      idx.sort((a, b) => values[b] - values[a]);
    } else if (values[i] > values[idx[k - 1]]) {
      idx[k - 1] = i;
      idx.sort((a, b) => values[b] - values[a]);
    }
  }
  return idx;
}

function sampleRows(n: number, m: number, rand: () => number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rand() * (n - i));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, m).sort((a, b) => a - b);
}

function dotOf(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let d = 0; d < a.length; d++) s += a[d] * b[d];
  return s;
}

function normalise(v: Float64Array): number {
  const norm = Math.sqrt(dotOf(v, v));
  if (norm > 0) for (let d = 0; d < v.length; d++) v[d] /= norm;
  return norm;
}

function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

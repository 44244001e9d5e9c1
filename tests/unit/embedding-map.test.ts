// The embedding map: PCA and UMAP projections of synthetic clusters (shapes, scale, seeded
// determinism, cancel), label placement, and the map of a generated project with a tiny CLIP
// and a short trained run (cache hit, learned labels, cancel, no tensor leaks).
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src-main/backend';
import { loadClip } from '../../src-main/clip/model';
import { mulberry32, normalSampler } from '../../src-main/clip/random';
import type { ClipModel } from '../../src-main/clip/types';
import { buildEmbeddingMap } from '../../src-main/data/embedding-map';
import { pcaProject, placeAmongImages, umapProject } from '../../src-main/data/projection';
import type { ProjectStore } from '../../src-main/data/store';
import { CancelledError, type JobContext } from '../../src-main/jobs/context';
import { trainRun } from '../../src-main/lamm/run';
import { makeProject, makeTinyModel, tempDir, unitClusters } from './lamm-fixture';

/** C Gaussian clusters of n normalised P-d rows each. */
function clusters(seed: number, C = 3, n = 30, P = 12) {
  const { x, labels } = unitClusters(normalSampler(mulberry32(seed)), C, n, P, 0.15);
  return { x, label: labels, N: C * n, P, C };
}

/** Mean distance within clusters over mean distance between: well below 1 when the map keeps them apart. */
function separation(xy: Float32Array, label: Int32Array): number {
  let within = 0,
    wn = 0,
    between = 0,
    bn = 0;
  for (let i = 0; i < label.length; i++) {
    for (let j = i + 1; j < label.length; j++) {
      const d = Math.hypot(xy[i * 2] - xy[j * 2], xy[i * 2 + 1] - xy[j * 2 + 1]);
      if (label[i] === label[j]) {
        within += d;
        wn++;
      } else {
        between += d;
        bn++;
      }
    }
  }
  return within / wn / (between / bn);
}

const inUnit = (xy: Float32Array) => xy.every((v) => Number.isFinite(v) && v >= -1 - 1e-6 && v <= 1 + 1e-6);
const QUICK_UMAP = { nEpochs: 60 };

describe('projections', () => {
  const s = clusters(4);

  it('PCA: [N, 2] in [-1, 1], deterministic, clusters kept apart', () => {
    const a = pcaProject(s.x, s.N, s.P);
    expect(a.length).toBe(s.N * 2);
    expect(inUnit(a)).toBe(true);
    expect(Math.max(...a.map(Math.abs))).toBeCloseTo(1, 5);
    expect(pcaProject(s.x, s.N, s.P)).toEqual(a);
    expect(separation(a, s.label)).toBeLessThan(0.5);
  });

  it('UMAP: the same seed gives the same map, another seed another; clusters kept apart', async () => {
    const params = { nNeighbors: 10, minDist: 0.1, nEpochs: 80, seed: 7 };
    const a = await umapProject(s.x, s.N, s.P, params);
    const b = await umapProject(s.x, s.N, s.P, params);
    const c = await umapProject(s.x, s.N, s.P, { ...params, seed: 8 });
    expect(a.length).toBe(s.N * 2);
    expect(inUnit(a)).toBe(true);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(separation(a, s.label)).toBeLessThan(0.5);
  });

  it('UMAP reports progress by epoch and stops on cancel', async () => {
    const controller = new AbortController();
    const stages: string[] = [];
    const ctx: JobContext = {
      signal: controller.signal,
      progress: (p) => {
        stages.push(p.stage);
        if (p.stage === 'umap' && p.done >= 10) controller.abort();
      },
    };
    await expect(umapProject(s.x, s.N, s.P, { nNeighbors: 10, minDist: 0.1, nEpochs: 200, seed: 1 }, ctx)).rejects.toBeInstanceOf(CancelledError);
    expect(stages).toContain('neighbours');
    expect(stages.filter((x) => x === 'umap').length).toBeLessThan(10);
  });

  it('UMAP refuses too few points with a one-line reason', async () => {
    await expect(umapProject(s.x, 3, s.P)).rejects.toThrow('UMAP needs at least 4 images with features, got 3');
  });

  it('a query row lands among the images most similar to it', () => {
    const xy = pcaProject(s.x, s.N, s.P);
    // Cluster 1's mean direction, normalised: it should land on cluster 1, not elsewhere.
    const q = new Float32Array(s.P);
    for (let i = 0; i < s.N; i++) if (s.label[i] === 1) for (let d = 0; d < s.P; d++) q[d] += s.x[i * s.P + d];
    const norm = Math.hypot(...q);
    q.forEach((v, d) => (q[d] = v / norm));
    const [px, py] = placeAmongImages(s.x, s.N, s.P, xy, q);
    const centre = [0, 0];
    let count = 0;
    for (let i = 0; i < s.N; i++) {
      if (s.label[i] !== 1) continue;
      centre[0] += xy[i * 2];
      centre[1] += xy[i * 2 + 1];
      count++;
    }
    const own = Math.hypot(px - centre[0] / count, py - centre[1] / count);
    expect(own).toBeLessThan(0.25);
  });
});

describe('the map of a project', () => {
  let dir: string;
  let store: ProjectStore;
  let model: ClipModel;
  let datasetId: number;
  let runId: number;

  beforeAll(async () => {
    await initBackend();
    dir = tempDir('map');
    ({ store } = await makeProject(dir, 6));
    model = await loadClip(makeTinyModel(dir));
    datasetId = store.listDatasets()[0].id;
    runId = (await trainRun(store, model, { config: { shots: 3, epochs: 2, views: 1, batchSize: 4, lr: 0.01, warmupEpochs: 1 } })).runId;
  });
  afterAll(() => {
    store?.close();
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('one point per image and one label per class, marked as the dataset says; a second open comes from the cache', async () => {
    const images = store.listImages(datasetId, { includeExcluded: true });
    const classes = store.listClasses(datasetId);
    const shot = new Set([images[0].id]);
    const first = await buildEmbeddingMap(store, model, datasetId, { projection: 'umap', umap: QUICK_UMAP, shotIds: shot });
    expect(first.cached).toBe(false);
    expect(first.projection).toBe('umap');
    expect(first.points.map((p) => p.id).sort()).toEqual(images.map((i) => i.id).sort());
    expect(first.points.filter((p) => p.isShot).map((p) => p.id)).toEqual([images[0].id]);
    for (const p of first.points) {
      const img = images.find((i) => i.id === p.id)!;
      expect([p.classId, p.split, p.excluded]).toEqual([img.classId, img.split, img.excluded]);
    }
    expect(first.labels.map((l) => l.classId)).toEqual(classes.map((c) => c.id));
    expect(first.labels.every((l) => l.learned === null && l.zeroShot.every(Number.isFinite))).toBe(true);

    const tensors = tf.memory().numTensors;
    const again = await buildEmbeddingMap(store, model, datasetId, { projection: 'umap', umap: QUICK_UMAP, shotIds: shot });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(again.cached).toBe(true);
    expect(again.points).toEqual(first.points);
    expect(again.labels).toEqual(first.labels);
  });

  it('another image set (an image gone) or other parameters are recomputed, not misread from the cache', async () => {
    const pca = await buildEmbeddingMap(store, model, datasetId, { projection: 'pca' });
    expect((await buildEmbeddingMap(store, model, datasetId, { projection: 'pca' })).cached).toBe(true);
    expect((await buildEmbeddingMap(store, model, datasetId, { projection: 'umap', umap: { ...QUICK_UMAP, seed: 9 } })).cached).toBe(false);
    const gone = pca.points[0].id;
    store.db.prepare('UPDATE images SET missing = 1 WHERE id = ?').run(gone);
    try {
      const fewer = await buildEmbeddingMap(store, model, datasetId, { projection: 'pca' });
      expect(fewer.cached).toBe(false);
      expect(fewer.points.length).toBe(pca.points.length - 1);
    } finally {
      store.db.prepare('UPDATE images SET missing = 0 WHERE id = ?').run(gone);
    }
  });

  it("a trained run's learned labels are placed beside the zero-shot ones, with no tensors left behind", async () => {
    const tensors = tf.memory().numTensors;
    const map = await buildEmbeddingMap(store, model, datasetId, { projection: 'pca', runId });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(map.runId).toBe(runId);
    const trained = new Set(store.getRunClasses(runId).map((c) => c.classId));
    for (const l of map.labels) {
      expect(l.learned !== null).toBe(trained.has(l.classId));
      expect([...l.zeroShot, ...(l.learned ?? [])].every((v) => v >= -1 && v <= 1)).toBe(true);
    }
  });

  it('refuses an unknown run with a one-line reason, and stops on cancel', async () => {
    await expect(buildEmbeddingMap(store, model, datasetId, { projection: 'pca', runId: 9999 })).rejects.toThrow(/9999/);
    const controller = new AbortController();
    controller.abort();
    await expect(
      buildEmbeddingMap(store, model, datasetId, { projection: 'umap', umap: { seed: 33 } }, { signal: controller.signal, progress: () => {} }),
    ).rejects.toBeInstanceOf(CancelledError);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedImages, embedPixels, loadClip, type ClipModel } from '../../src-main/clip';
import { augmentedView } from '../../src-main/clip/augment';
import { decodeImage } from '../../src-main/clip/preprocess';
import { computeFeatures, featureCacheKey, loadFeatures, viewSeed } from '../../src-main/data/features';
import { importFolder } from '../../src-main/data/import';
import type { ProjectStore } from '../../src-main/data/store';
import { CancelledError, type Progress } from '../../src-main/jobs/context';
import { GOLDEN_MODEL_DIR, HAS_GOLDEN, maxAbsDiff } from '../helpers/golden';
import { storesClosedAfterEach, tempDir, writeImage } from './data-fixtures';

const open = storesClosedAfterEach();

/** Six images of varied sizes (some need resize + crop) in two classes. */
async function project(): Promise<{ store: ProjectStore; datasetId: number; data: string }> {
  const dir = tempDir();
  const data = path.join(dir, 'DATA');
  const sizes: [number, number][] = [
    [32, 32],
    [40, 32],
    [64, 48],
    [30, 50],
    [32, 32],
    [45, 45],
  ];
  for (let i = 0; i < sizes.length; i++) await writeImage(path.join(data, i % 2 ? 'odd' : 'even', `${i}.png`), 100 + i, 'png', ...sizes[i]);
  const store = open(path.join(dir, 'project.lamm'));
  const { datasetId } = await importFolder(store, data);
  return { store, datasetId, data };
}

describe.skipIf(!HAS_GOLDEN)('feature cache', () => {
  let model: ClipModel;
  beforeAll(async () => {
    model = await loadClip(GOLDEN_MODEL_DIR);
  });
  afterAll(() => model?.dispose());

  it('computes views in batches with progress; view 0 is the plain image, views 1.. seeded crops; reused afterwards', async () => {
    const { store, datasetId } = await project();
    const images = store.listImages(datasetId);
    const events: Progress[] = [];
    const first = await computeFeatures(
      store,
      model,
      { datasetId, views: 3, batchSize: 4 },
      { signal: new AbortController().signal, progress: (p) => events.push({ ...p }) },
    );
    expect(first).toMatchObject({ computed: 18, cached: 0, views: 3, failed: [] });
    expect(events.at(-1)).toMatchObject({ stage: 'features', done: 18, total: 18 });
    expect(events.map((e) => e.done)).toEqual([...events.map((e) => e.done)].sort((a, b) => a - b));

    const ids = images.map((i) => i.id);
    const direct = await embedImages(
      model,
      images.map((i) => store.imageFile(i)),
    );
    const view0 = loadFeatures(store, first.modelId, ids, 0);
    const width = model.config.projectionDim;
    expect(view0.length).toBe(ids.length * width);
    images.forEach((_, i) => expect(maxAbsDiff(view0.subarray(i * width, (i + 1) * width), direct[i])).toBeLessThan(1e-5));
    for (const view of [1, 2]) {
      const cached = loadFeatures(store, first.modelId, ids, view);
      for (let i = 0; i < images.length; i++) {
        const pixels = augmentedView(await decodeImage(store.imageFile(images[i])), model.preprocess, viewSeed(images[i].sha256), view);
        const [expected] = await embedPixels(model, [pixels]);
        const row = cached.subarray(i * width, (i + 1) * width);
        expect(maxAbsDiff(row, expected)).toBeLessThan(1e-5);
        expect(maxAbsDiff(row, direct[i])).toBeGreaterThan(1e-3);
      }
    }
    const normalised = loadFeatures(store, first.modelId, ids.slice(0, 1), 0, { normalize: true });
    expect(Math.hypot(...normalised)).toBeCloseTo(1, 5);

    const tensors = tf.memory().numTensors;
    const again = await computeFeatures(store, model, { datasetId, views: 3 });
    expect(again).toMatchObject({ computed: 0, cached: 18 });
    const more = await computeFeatures(store, model, { datasetId, views: 4 });
    expect(more).toMatchObject({ computed: 6, cached: 18 });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(() => loadFeatures(store, first.modelId, ids, 9)).toThrow(/has no cached features for model \d+, view 9: compute features first/);
  });

  it('cancels between batches keeping what was written, and a re-run completes', async () => {
    const { store, datasetId } = await project();
    const controller = new AbortController();
    const ctx = {
      signal: controller.signal,
      progress: (p: Progress) => {
        if (p.done >= 4) controller.abort();
      },
    };
    await expect(computeFeatures(store, model, { datasetId, views: 2, batchSize: 4 }, ctx)).rejects.toBeInstanceOf(CancelledError);
    const written = (store.db.prepare('SELECT COUNT(*) AS n FROM features').get() as { n: number }).n;
    expect(written).toBe(4);
    const rest = await computeFeatures(store, model, { datasetId, views: 2, batchSize: 4 });
    expect(rest).toMatchObject({ computed: 8, cached: 4 });
  });

  it('reports images that no longer decode and computes the rest', async () => {
    const { store, datasetId } = await project();
    const victim = store.listImages(datasetId)[2];
    fs.writeFileSync(store.imageFile(victim), 'garbage now');
    const summary = await computeFeatures(store, model, { datasetId });
    expect(summary.computed).toBe(5);
    expect(summary.failed).toHaveLength(1);
    expect(summary.failed[0]).toMatchObject({ imageId: victim.id, path: victim.path });
    expect(summary.failed[0].reason).toMatch(/^cannot decode image /);
  });

  it("drops a model folder's features when its weights change", async () => {
    const { store, datasetId } = await project();
    const modelDir = path.join(tempDir('lamm-model-'), 'clip');
    fs.cpSync(GOLDEN_MODEL_DIR, modelDir, { recursive: true });
    for (const f of fs.readdirSync(modelDir)) fs.chmodSync(path.join(modelDir, f), 0o644);
    const original = await loadClip(modelDir);
    const a = await computeFeatures(store, original, { datasetId });
    const originalSha = original.weightsSha256;
    original.dispose();
    expect(a.computed).toBe(6);

    // Flip the lowest mantissa bit of the last float in the weights: a different checkpoint.
    const weightsFile = path.join(modelDir, 'model.safetensors');
    const bytes = fs.readFileSync(weightsFile);
    bytes[bytes.length - 4] ^= 1;
    fs.writeFileSync(weightsFile, bytes);
    const changed = await loadClip(modelDir);
    try {
      expect(changed.weightsSha256).not.toBe(originalSha);
      expect(featureCacheKey(changed)).not.toBe(store.getModel(a.modelId).cacheKey);
      const b = await computeFeatures(store, changed, { datasetId });
      expect(b.modelId).toBe(a.modelId); // same folder, same model row…
      expect(b).toMatchObject({ computed: 6, cached: 0 }); // …but nothing reused
      expect(store.getModel(b.modelId).weightsSha256).toBe(changed.weightsSha256);
      expect((store.db.prepare('SELECT COUNT(*) AS n FROM features WHERE model_id = ?').get(b.modelId) as { n: number }).n).toBe(6);
    } finally {
      changed.dispose();
    }
  });
});
